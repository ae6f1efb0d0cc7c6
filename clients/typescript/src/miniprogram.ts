// A mini-program page's calls, typed by the types openapi-typescript generates from the gateway's
// /openapi.json (src/api.d.ts, made in CI). If the contract drifts from what a client relies on,
// `tsc --noEmit` fails here: the fields read and sent below must exist with these types.
import type { components, paths } from "./api";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;

export type SessionIn = Json<paths["/api/v1/miniprogram/session"]["post"]["requestBody"]>;
export type Session = Json<paths["/api/v1/miniprogram/session"]["post"]["responses"][200]>;
export type AppealForm = Json<paths["/api/v1/miniprogram/appeals"]["post"]["requestBody"]>;
export type Accepted = Json<paths["/api/v1/miniprogram/appeals"]["post"]["responses"][201]>;
export type PublicStatus = Json<paths["/api/v1/public/appeals/{ticket_no}"]["get"]["responses"][200]>;
export type Problem = components["schemas"]["Problem"];
type StatusQuery = NonNullable<paths["/api/v1/public/appeals/{ticket_no}"]["get"]["parameters"]["query"]>;

// The part of WeChat's `wx` the page uses (the real one comes from miniprogram-api-typings).
interface WxResponse<T> {
  statusCode: number;
  data: T;
}
interface Wx {
  login(options: { success(result: { code: string }): void; fail(error: unknown): void }): void;
  request<T>(options: {
    url: string;
    method: "GET" | "POST";
    data?: unknown;
    header?: Record<string, string>;
    success(response: WxResponse<T>): void;
    fail(error: unknown): void;
  }): void;
}
declare const wx: Wx;

const BASE = "https://guanjia.example.gov.cn";

function request<T>(method: "GET" | "POST", path: string, data?: unknown, header?: Record<string, string>) {
  return new Promise<T>((resolve, reject) =>
    wx.request<T | Problem>({
      url: BASE + path,
      method,
      data,
      header,
      success: (r) => (r.statusCode < 400 ? resolve(r.data as T) : reject(r.data as Problem)),
      fail: reject,
    }),
  );
}

/** Log in with wx.login's code: our bearer token for the resident. */
export async function logIn(): Promise<Session> {
  const code = await new Promise<string>((resolve, reject) =>
    wx.login({ success: (r) => resolve(r.code), fail: reject }),
  );
  const body: SessionIn = { code };
  return request<Session>("POST", "/api/v1/miniprogram/session", body);
}

/** File a street-light appeal with the place from wx.getLocation (GCJ-02). */
export async function fileAppeal(session: Session, filingId: string): Promise<Accepted> {
  const form: AppealForm = {
    title: "路灯不亮",
    description: "虎门镇北栅村东堤路的路灯坏了一个星期，晚上很黑。",
    lat: 22.8156,
    lng: 113.6731,
    datum: "gcj02",
    urgency: "normal",
    anonymous: false,
    photos: [],
  };
  // @ts-expect-error — the contract knows its urgencies: "very urgent" is not one of them.
  const wrong: AppealForm = { ...form, urgency: "very urgent" };
  void wrong;
  const accepted = await request<Accepted>("POST", "/api/v1/miniprogram/appeals", form, {
    Authorization: `${session.token_type === "bearer" ? "Bearer" : ""} ${session.access_token}`,
    "Idempotency-Key": filingId,
  });
  const ticket: string = accepted.ticket_no;
  const queryCode: string = accepted.query_code;
  void ticket;
  void queryCode;
  return accepted;
}

/** What the status page shows: state, timeline and deadlines, for the holder of the 查询码. */
export async function publicStatus(accepted: Accepted): Promise<string[]> {
  const query: StatusQuery = { code: accepted.query_code };
  const status = await request<PublicStatus>(
    "GET",
    `/api/v1/public/appeals/${encodeURIComponent(accepted.ticket_no)}?code=${encodeURIComponent(query.code ?? "")}`,
  );
  const lines = status.timeline.map((step) => `${step.at} ${step.description}`);
  for (const clock of status.deadlines) {
    lines.push(`${clock.clock}: ${clock.due_at}${clock.provisional ? "（预计）" : ""} ${clock.state}`);
  }
  if (status.duplicate_of !== null && status.duplicate_of !== undefined) {
    lines.push(`已并入 ${status.duplicate_of}`);
  }
  lines.unshift(`${status.ticket_no} ${status.status}`);
  return lines;
}

/** A refusal: the Chinese detail for the person, the code for the program. */
export function explain(problem: Problem): string {
  return problem.code === "rate_limited" ? "请稍后再试" : problem.detail;
}
