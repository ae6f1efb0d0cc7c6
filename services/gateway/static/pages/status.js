/* A resident's status page (/s/{ticket_no}): the 查询码 typed in, kept in this page's memory
 * only (never in the URL, a cookie or storage), and the public status read with it:
 * GET /api/v1/public/appeals/{ticket_no}?code=…, polled with ETag while the page is open.
 * When the appeal waits for its return visit, the resident rates here with the same code:
 * POST /api/v1/public/appeals/{ticket_no}/evaluation?code=… (the mini-program's rules). */
"use strict";

(() => {
  const REFRESH_MS = 60_000;
  const $ = (id) => document.getElementById(id);
  const ticket = decodeURIComponent(location.pathname.split("/").pop() || "");
  let code = null;
  let timer = null;

  const GOOD = new Set(["completed", "closed"]);
  const BAD = new Set(["rejected", "withdrawn"]);

  function render(appeal) {
    const badge = $("status-badge");
    badge.textContent = GJ.label(GJ.STATUS, appeal.status);
    badge.dataset.status = appeal.status;
    badge.className = `badge ${GOOD.has(appeal.status) ? "good" : BAD.has(appeal.status) ? "bad" : "wait"}`;
    $("kind").textContent = GJ.label(GJ.KIND, appeal.kind);
    $("category").textContent = GJ.label(GJ.CATEGORY, appeal.category);
    $("track").textContent = GJ.label(GJ.TRACK, appeal.track);
    $("town").textContent = appeal.town || "—";

    const dup = $("duplicate");
    dup.hidden = !appeal.duplicate_of;
    dup.textContent = appeal.duplicate_of
      ? `本诉求与编号 ${appeal.duplicate_of} 的诉求为同一事项，合并办理，办理结果同样反馈给您。`
      : "";

    const deadlines = GJ.clear($("deadlines"));
    if (!appeal.deadlines.length) {
      const tr = GJ.el("tr");
      tr.append(GJ.el("td", { colspan: 3 }, "暂无计时环节。"));
      deadlines.append(tr);
    }
    for (const d of appeal.deadlines) {
      const tr = GJ.el("tr", { "data-clock": d.clock });
      const due = d.due_at ? GJ.when(d.due_at) : GJ.day(d.due_date);
      const state = GJ.label(GJ.CLOCK_STATE, d.state);
      const kind = d.state === "met" ? "good" : d.state === "overdue" ? "bad" : "wait";
      const stateCell = GJ.el("td");
      stateCell.append(GJ.el("span", { className: `badge ${kind}` }, state));
      tr.append(
        GJ.el("th", { scope: "row" }, GJ.label(GJ.CLOCK, d.clock)),
        GJ.el("td", {}, d.provisional ? `${due}（暂定，节假日安排公布后确认）` : due),
        stateCell,
      );
      deadlines.append(tr);
    }

    const timeline = GJ.clear($("timeline"));
    for (const step of appeal.timeline) {
      const li = GJ.el("li", { "data-status": step.status });
      li.append(GJ.el("time", { datetime: step.at }, GJ.when(step.at)), GJ.el("span", {}, step.description));
      timeline.append(li);
    }

    $("rate").hidden = appeal.status !== "completed";
    $("result").hidden = false;
    $("ask").hidden = true;
    GJ.setStatus($("refresh-state"), `进度更新于 ${GJ.when(new Date().toISOString())}，页面打开期间每分钟自动刷新。`);
    document.body.dataset.loaded = "true";
  }

  async function load(first) {
    const url = `/api/v1/public/appeals/${encodeURIComponent(ticket)}?code=${encodeURIComponent(code)}`;
    let answer;
    try {
      answer = await GJ.getJson(url);
    } catch (err) {
      GJ.setStatus(first ? $("code-state") : $("refresh-state"), "网络连接失败，请稍后再试。", true);
      return;
    }
    if (answer.status === 404) {
      code = null;
      $("result").hidden = true;
      $("ask").hidden = false;
      GJ.setStatus($("code-state"), "查询码不正确，或诉求编号不存在。请核对短信中的编号和查询码。", true);
      $("code").focus();
      return;
    }
    if (answer.status === 429) {
      GJ.setStatus($("code-state"), "查询过于频繁，请一分钟后再试。", true);
      return;
    }
    if (answer.status !== 200) {
      GJ.setStatus(first ? $("code-state") : $("refresh-state"), "系统繁忙，请稍后再试。", true);
      return;
    }
    GJ.setStatus($("code-state"), "");
    render(answer.data);
    if (first) $("result-title").focus();
  }

  const RATE_ANSWER = {
    409: "本轮办理已经评价过，或当前暂不能评价。",
    404: "查询码不正确，请重新输入查询码。",
    422: "请选择问题是否解决和满意程度。",
    429: "提交过于频繁，请一分钟后再试。",
  };

  async function rate(event) {
    event.preventDefault();
    const result = document.querySelector('input[name="result"]:checked');
    const rating = document.querySelector('input[name="rating"]:checked');
    if (!result || !rating) {
      GJ.setStatus($("rate-state"), RATE_ANSWER[422], true);
      return;
    }
    if (!code) return;
    const comment = $("rate-comment").value.trim();
    let response;
    try {
      response = await fetch(`/api/v1/public/appeals/${encodeURIComponent(ticket)}/evaluation?code=${encodeURIComponent(code)}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ result: result.value, rating: rating.value, comment: comment || null }),
        credentials: "omit",
      });
    } catch (err) {
      GJ.setStatus($("rate-state"), "网络连接失败，请稍后再试。", true);
      return;
    }
    if (response.status !== 200) {
      GJ.setStatus($("rate-state"), RATE_ANSWER[response.status] || "系统繁忙，请稍后再试。", true);
      return;
    }
    const moved = await response.json();
    $("rate-form").reset();
    GJ.setStatus($("rate-state"), moved.status === "reopened"
      ? "感谢您的评价。您对办理结果不满意，我们将重新办理，请留意后续短信。"
      : "感谢您的评价，本诉求已办理完毕。");
    await load(false);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("rate-form").addEventListener("submit", rate);
    $("ticket").textContent = ticket;
    $("result-title").setAttribute("tabindex", "-1");
    $("again").addEventListener("click", () => {
      code = null;
      $("result").hidden = true;
      $("ask").hidden = false;
      $("code").focus();
    });
    $("code-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const typed = $("code").value.trim();
      if (!typed) {
        GJ.setStatus($("code-state"), "请输入查询码。", true);
        return;
      }
      code = typed;
      $("code").value = "";
      if (timer) clearInterval(timer);
      load(true);
      timer = setInterval(() => code && load(false), REFRESH_MS);
    });
  });
})();
