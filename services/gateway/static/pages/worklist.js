/* 工作清单 and 我的提醒 inside the cockpit: the staff work list (GET /api/v1/staff/appeals, its
 * summary) and the viewer's notifications (GET /api/v1/staff/notifications). The cockpit hands
 * in its own fetchers, so the token stays in the cockpit's closure. A cockpit number made with
 * `GJW.link` opens this list with the filter behind the number. */
"use strict";

const GJW = (() => {
  const PAGE = 50;
  const COUNT_PAGE = 200;
  const COUNT_PAGES = 5;
  const $ = (id) => document.getElementById(id);
  const FILTER_NAMES = {
    status: "状态", kind: "类型", category: "类别", urgency: "紧急程度", track: "办理路径", town_code: "镇街",
    village_code: "村（社区）", holder: "承办", overdue: "超时", due_before: "下一期限早于", q: "编号或内容",
  };
  let api = null; // {get, post, unitName, townName}
  let filter = {};
  let cursor = null;
  let shown = 0;
  let generation = 0; // a newer query wins over the late answer of an older one

  function url(f, limit, after) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(f)) if (value !== "" && value !== null && value !== undefined) params.set(key, value);
    params.set("limit", String(limit));
    if (after) params.set("cursor", after);
    return `/api/v1/staff/appeals?${params}`;
  }

  /** A filter in words, for the list's caption. */
  function words(f) {
    const parts = [];
    for (const [key, value] of Object.entries(f)) {
      if (value === "" || value === null || value === undefined) continue;
      let shownValue = value;
      if (key === "status") shownValue = GJ.label(GJ.STATUS, value);
      else if (key === "kind") shownValue = GJ.label(GJ.KIND, value);
      else if (key === "category") shownValue = GJ.label(GJ.CATEGORY, value);
      else if (key === "track") shownValue = GJ.label(GJ.TRACK, value);
      else if (key === "town_code") shownValue = api.townName(value);
      else if (key === "holder") shownValue = "本单位承办";
      else if (key === "overdue") shownValue = value === "true" ? "已超时" : "未超时";
      else if (key === "due_before") shownValue = GJ.day(value);
      parts.push(`${FILTER_NAMES[key] || key}：${shownValue}`);
    }
    return parts.length ? parts.join("，") : "全部在办及已办诉求";
  }

  function row(item) {
    const tr = GJ.el("tr", { "data-ticket": item.ticket_no, "data-appeal": item.appeal_id });
    const holder = item.holder ? item.holder.name || api.unitName(item.holder.type, item.holder.code) : "未指派";
    const place = [item.town, item.village].filter(Boolean).join(" · ") || "—";
    const category = item.category ? GJ.label(GJ.CATEGORY, item.category) : "待分拣";
    const cells = [item.ticket_no, GJ.label(GJ.STATUS, item.status), `${GJ.label(GJ.KIND, item.kind)} · ${category}`,
      place, holder, GJ.when(item.next_due_at)];
    for (const cell of cells) tr.append(GJ.el("td", {}, cell));
    const late = GJ.el("td");
    late.append(item.overdue ? GJ.el("span", { className: "badge bad" }, "已超时") : GJ.el("span", {}, "—"));
    tr.append(late);
    return tr;
  }

  async function loadPage(first) {
    const mine = ++generation;
    const table = $("work-table");
    const body = table.querySelector("tbody");
    table.dataset.state = "loading";
    $("work-more").hidden = true;
    if (first) {
      GJ.clear(body);
      shown = 0;
      cursor = null;
    }
    const answer = await api.get(url(filter, PAGE, cursor));
    if (mine !== generation) return;
    if (answer.status !== 200) {
      table.dataset.state = "error";
      GJ.setStatus($("work-state"), answer.status === 422 ? "查询条件有误，请调整后重试。" : "清单暂时无法载入，请稍后再试。", true);
      return;
    }
    for (const item of answer.data.items) body.append(row(item));
    shown += answer.data.items.length;
    cursor = answer.data.next_cursor;
    table.dataset.count = String(shown);
    table.dataset.filter = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== "")).toString();
    $("work-more").hidden = !cursor;
    table.dataset.state = cursor ? "more" : "done";
    GJ.setStatus($("work-state"), `${words(filter)}：已显示 ${GJ.count(shown)}${cursor ? "，还有更多，可点“加载更多”" : "，已全部显示"}。`);
  }

  function setForm() {
    $("work-status").value = filter.status || "";
    $("work-overdue").value = filter.overdue || "";
    $("work-mine").checked = filter.holder === "mine";
    $("work-town").value = filter.town_code || "";
    $("work-q").value = filter.q || "";
  }

  function fromForm() {
    const f = {};
    if ($("work-status").value) f.status = $("work-status").value;
    if ($("work-overdue").value) f.overdue = $("work-overdue").value;
    if ($("work-mine").checked) f.holder = "mine";
    if ($("work-town").value) f.town_code = $("work-town").value;
    const q = $("work-q").value.trim();
    if (q) f.q = q;
    return f;
  }

  /** Open the work list with a filter (an object of query parameters). */
  async function open(f) {
    filter = { ...f };
    setForm();
    $("work").focus();
    await loadPage(true);
  }

  /** A number that is a link to the work list behind it. */
  function link(text, value, f) {
    const query = new URLSearchParams(f).toString();
    const a = GJ.el("a", { className: "value", href: "#work", "data-list": "work", "data-filter": query, "data-value": value }, text);
    a.addEventListener("click", (event) => {
      event.preventDefault();
      open(f);
    });
    return a;
  }

  /** How many appeals a filter finds, walking its pages (a few at most): {n, more}. */
  async function count(f) {
    let n = 0;
    let after = null;
    for (let page = 0; page < COUNT_PAGES; page += 1) {
      const answer = await api.get(url(f, COUNT_PAGE, after));
      if (answer.status !== 200) throw new Error("worklist");
      n += answer.data.items.length;
      after = answer.data.next_cursor;
      if (!after) return { n, more: false };
    }
    return { n, more: true };
  }

  // --- 我的提醒 -----------------------------------------------------------------------------

  const NOTE_KIND = {
    assigned: "新交办", returned: "退单", deadline_warning: "临期提醒", overdue: "超期提醒", escalated: "升级督办",
    extension_requested: "延期申请", extension_decided: "延期结果", objection: "公示异议", noticed: "方案公示",
  };

  async function unread() {
    const items = [];
    let after = null;
    for (let page = 0; page < COUNT_PAGES; page += 1) {
      const query = `/api/v1/staff/notifications?unread=true&limit=${COUNT_PAGE}${after ? `&cursor=${encodeURIComponent(after)}` : ""}`;
      const answer = await api.get(query, true);
      if (answer.status !== 200) throw new Error("notifications");
      items.push(...answer.data.items);
      after = answer.data.next_cursor;
      if (!after) return { items, more: false };
    }
    return { items, more: true };
  }

  function note(item) {
    const li = GJ.el("li", { "data-note": item.id });
    li.append(GJ.el("time", { datetime: item.created_at }, GJ.when(item.created_at)));
    li.append(GJ.el("span", { className: "badge wait" }, NOTE_KIND[item.kind] || "工作提醒"), " ", GJ.el("span", {}, item.text), " ");
    if (item.ticket_no) {
      const ticket = GJ.el("a", { href: "#work", "data-ticket": item.ticket_no }, `在清单中查看 ${item.ticket_no}`);
      ticket.addEventListener("click", (event) => {
        event.preventDefault();
        open({ q: item.ticket_no });
      });
      li.append(ticket, " ");
    }
    if (api.canWrite) {
      const done = GJ.el("button", { type: "button", className: "small" }, "标为已读");
      done.addEventListener("click", async () => {
        const answer = await api.post(`/api/v1/staff/notifications/${item.id}/read`);
        if (answer.ok) await loadNotes();
      });
      li.append(done);
    }
    return li;
  }

  /** The viewer's unread notifications: the count (a link to the list) and the list. */
  async function loadNotes() {
    const { items, more } = await unread();
    const holder = GJ.clear($("notes-count"));
    const a = GJ.el("a", { href: "#notes", "data-list": "notes", "data-value": items.length }, `${more ? "≥" : ""}${GJ.count(items.length, "条")}`);
    a.addEventListener("click", (event) => {
      event.preventDefault();
      $("notes").focus();
    });
    holder.append("未读提醒 ", a);
    const list = GJ.clear($("notes-list"));
    for (const item of items) list.append(note(item));
    if (!items.length) list.append(GJ.el("li", {}, "暂无未读提醒。"));
  }

  function init(handles) {
    api = handles;
    const status = $("work-status");
    if (status.options.length <= 1) {
      for (const [key, name] of Object.entries(GJ.STATUS)) status.append(GJ.el("option", { value: key }, name));
    }
    const town = GJ.clear($("work-town"));
    town.append(GJ.el("option", { value: "" }, "全部"));
    for (const t of handles.towns) town.append(GJ.el("option", { value: t.code }, t.name));
    $("work-town-field").hidden = handles.towns.length <= 1;
  }

  function reset() {
    generation += 1;
    filter = {};
    cursor = null;
    shown = 0;
    GJ.clear($("work-table").querySelector("tbody"));
    delete $("work-table").dataset.state;
    GJ.clear($("notes-list"));
    GJ.clear($("notes-count"));
    GJ.setStatus($("work-state"), "点击驾驶舱中的数字，或在上方选择条件后查询。");
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("work-form").addEventListener("submit", (event) => {
      event.preventDefault();
      open(fromForm());
    });
    $("work-more").addEventListener("click", () => loadPage(false));
  });

  return { init, open, link, count, loadNotes, reset };
})();
