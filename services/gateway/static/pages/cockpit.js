/* 领导驾驶舱: the staff cockpit. The token from POST /api/v1/auth/staff lives in this closure
 * only (never a cookie or storage: nothing for another site to ride on, gone with the tab).
 * Every figure comes from a staff endpoint, which scopes it to the viewer; every number is a
 * link to the list behind it, shown below from the same answer. */
"use strict";

(() => {
  const REFRESH_MS = 120_000;
  const SOON_DAYS = 3;
  const $ = (id) => document.getElementById(id);
  const DEPARTMENTS = {
    civil_affairs: "民政局", hrss: "人社局", medical_security: "医保局", health: "卫健局", education: "教育局",
    housing: "住建局", disabled_persons: "残联", justice: "司法局", veterans: "退役军人事务局", women: "妇联",
    youth: "共青团", trade_union: "总工会", urban_management: "城管局", ecology: "生态环境局",
    agriculture: "农业农村局", emergency: "应急管理局", natural_resources: "自然资源局",
  };
  const ROLE = {
    city_admin: "市级管理员", town_staff: "镇街工作人员", village_staff: "村（社区）工作人员",
    department_staff: "部门工作人员", station_staff: "驿站工作人员", auditor: "审计人员",
  };
  let token = null;
  let viewer = null;
  let timer = null;
  let towns = [];
  let villages = {};
  const charts = {};
  const lists = {}; // name -> {title, source, columns, rows}

  function claims(jwt) {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  function townName(code) {
    const t = towns.find((x) => x.code === code);
    return t ? t.name : code;
  }

  function unitName(type, code) {
    if (!type) return "未指派";
    if (type === "city") return "市级";
    if (type === "town") return townName(code);
    if (type === "department") return DEPARTMENTS[code] || code;
    if (type === "village") return villages[code] ? `${villages[code]}（${townName(code.slice(0, 9) + "000")}）` : `村（社区）${code}`;
    if (type === "station") return `驿站 ${code}`;
    return `${type}:${code}`;
  }

  /** The KPI scope of the viewer, as the staff endpoints accept it. */
  function scope() {
    switch (viewer.role) {
      case "town_staff": return { level: "town", code: viewer.org_code };
      case "village_staff": return { level: "village", code: viewer.org_code };
      case "department_staff": return { level: "unit", code: `department:${viewer.org_code}` };
      case "station_staff": return { level: "unit", code: `station:${viewer.org_code}` };
      default: return { level: "city", code: "city" };
    }
  }

  async function staffGet(path, noCache = false) {
    const answer = await GJ.getJson(path, { headers: { Authorization: `Bearer ${token}` }, noCache });
    if (answer.status === 401) {
      logout("登录已过期，请重新登录。");
      throw new Error("expired");
    }
    return answer;
  }

  async function staffPost(path) {
    const response = await fetch(path, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      credentials: "omit",
    });
    if (response.status === 401) logout("登录已过期，请重新登录。");
    return response;
  }

  function previousMonth(today) {
    const [y, m] = today.split("-").map(Number);
    return m === 1 ? `${y - 1}-12-01` : `${y}-${String(m - 1).padStart(2, "0")}-01`;
  }

  function addDays(iso, days) {
    const d = new Date(`${iso}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  /** A card whose number is a link to its list. */
  function card(holder, title, list, value, raw, note) {
    const li = GJ.el("li", { className: "card" });
    li.append(GJ.el("h3", {}, title));
    const link = GJ.el("a", { className: "value", href: "#detail", "data-list": list, "data-value": raw }, value);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      showList(list);
    });
    li.append(link);
    if (note) li.append(GJ.el("span", { className: "note" }, note));
    holder.append(li);
  }

  function showList(name) {
    const list = lists[name];
    if (!list) return;
    $("detail-title").textContent = `明细：${list.title}`;
    $("detail-note").textContent = `共 ${list.rows.length} 条，来自 ${list.source}`;
    const table = $("detail-table");
    table.dataset.list = name;
    const head = GJ.clear(table.querySelector("thead"));
    const tr = GJ.el("tr");
    for (const c of list.columns) tr.append(GJ.el("th", { scope: "col" }, c));
    head.append(tr);
    const body = GJ.clear(table.querySelector("tbody"));
    for (const row of list.rows) {
      const r = GJ.el("tr");
      for (const cell of row) {
        const td = GJ.el("td");
        if (cell && typeof cell === "object") td.append(GJW.link(cell.text, cell.text, cell.work));
        else td.textContent = cell;
        r.append(td);
      }
      body.append(r);
    }
    $("detail").focus();
  }

  function change(now, before, isRate) {
    if (now === null || now === undefined || before === null || before === undefined) return "上月无可比数据";
    const diff = now - before;
    const arrow = diff > 0 ? "↑ 上升" : diff < 0 ? "↓ 下降" : "→ 持平";
    const amount = isRate ? `${(Math.abs(diff) * 100).toFixed(1)} 个百分点` : GJ.count(Math.abs(diff));
    return diff === 0 ? `${arrow}（上月 ${isRate ? GJ.rate(before) : GJ.count(before)}）` : `${arrow} ${amount}（上月 ${isRate ? GJ.rate(before) : GJ.count(before)}）`;
  }

  async function loadKpis() {
    const s = scope();
    const base = `/api/v1/stats/kpis?level=${encodeURIComponent(s.level)}&code=${encodeURIComponent(s.code)}&period=month`;
    const [now, before] = await Promise.all([
      staffGet(base),
      staffGet(`${base}&start=${previousMonth(GJ.today())}`),
    ]);
    const pick = (a) => ((a.data && a.data.rows) || []).find((r) => r.dim_value === "all") || { counts: {}, kpis: {} };
    const n = pick(now);
    const b = pick(before);
    const holder = GJ.clear($("kpis"));
    const counts = [["received", "受理"], ["completed", "办结"], ["closed", "回访办结"], ["returned", "退单"]];
    for (const [key, title] of counts) {
      card(holder, title, "kpis", GJ.count(n.counts[key]), n.counts[key] || 0, change(n.counts[key] || 0, b.counts[key] || 0, false));
    }
    const rates = [["response_rate", "响应率"], ["on_time_rate", "按时办结率"], ["satisfaction_rate", "满意率"], ["first_time_rate", "首次办结率"]];
    for (const [key, title] of rates) {
      card(holder, title, "kpis", GJ.rate(n.kpis[key]), n.kpis[key] ?? "", change(n.kpis[key], b.kpis[key], true));
    }
    const rows = Object.keys(n.counts).sort().map((k) => [k, String(n.counts[k]), String(b.counts[k] ?? 0)]);
    lists.kpis = { title: "本月与上月计数", source: "/api/v1/stats/kpis", columns: ["计数项", "本月", "上月"], rows };
  }

  async function clockPages(kind, extra) {
    const items = [];
    for (let page = 1; page <= 5; page += 1) {
      const answer = await staffGet(`/api/v1/deadlines/${kind}?page=${page}&page_size=200${extra}`);
      if (answer.status !== 200) throw new Error(kind);
      items.push(...answer.data.items);
      if (!answer.data.has_more) return { items, more: false };
    }
    return { items, more: true };
  }

  function clockRows(items) {
    return items.map((c) => [GJ.label(GJ.CLOCK, c.clock), unitName(c.unit_type, c.unit_code), GJ.when(c.due_at), GJ.label(GJ.CLOCK_STATE, c.state), c.appeal_id]);
  }

  async function loadClocks() {
    const today = GJ.today();
    const [overdue, due] = await Promise.all([
      clockPages("overdue", ""),
      clockPages("due", `&before=${addDays(today, SOON_DAYS)}`),
    ]);
    const soon = due.items.filter((c) => c.state !== "overdue");
    const holder = GJ.clear($("clock-cards"));
    card(holder, "已超时", "overdue", `${overdue.more ? "≥" : ""}${GJ.count(overdue.items.length)}`, overdue.items.length, "超过办理时限仍未完成");
    card(holder, `临期（${SOON_DAYS}日内）`, "due", `${due.more ? "≥" : ""}${GJ.count(soon.length)}`, soon.length, "即将到期，请督办");
    const columns = ["环节", "承办单位", "期限", "状态", "诉求ID"];
    lists.overdue = { title: "已超时的办理时限", source: "/api/v1/deadlines/overdue", columns, rows: clockRows(overdue.items) };
    lists.due = { title: `${SOON_DAYS}日内到期的办理时限`, source: "/api/v1/deadlines/due", columns, rows: clockRows(soon) };

    const units = new Map();
    for (const [items, key] of [[overdue.items, "overdue"], [soon, "soon"]]) {
      for (const c of items) {
        const name = unitName(c.unit_type, c.unit_code);
        const u = units.get(name) || { overdue: 0, soon: 0 };
        u[key] += 1;
        units.set(name, u);
      }
    }
    const names = [...units.keys()].sort((a, b) => units.get(b).overdue - units.get(a).overdue).slice(0, 15);
    charts.clocks.setOption({
      ...GJ.baseOption("各承办单位超时与临期件数"),
      legend: { data: ["超时（件）", "临期（件）"], textStyle: { color: "#f2f6fa" }, top: 0 },
      grid: { left: 8, right: 40, top: 28, bottom: 8, containLabel: true },
      xAxis: { type: "value", name: "件", minInterval: 1, axisLabel: { color: "#c3d3e3" } },
      yAxis: { type: "category", inverse: true, data: names, axisLabel: { color: "#f2f6fa" } },
      series: [
        { type: "bar", name: "超时（件）", stack: "c", data: names.map((n) => units.get(n).overdue), label: { show: true, color: "#111", formatter: (p) => (p.value ? String(p.value) : "") } },
        { type: "bar", name: "临期（件）", stack: "c", data: names.map((n) => units.get(n).soon), label: { show: true, color: "#111", formatter: (p) => (p.value ? String(p.value) : "") } },
      ],
    });
    GJ.describe($("clocks-summary"), names.length
      ? `超时与临期最多的承办单位：${names.slice(0, 5).map((n) => `${n} 超时 ${GJ.count(units.get(n).overdue)}、临期 ${GJ.count(units.get(n).soon)}`).join("；")}。`
      : "暂无超时或临期的办理时限。");
  }

  const QUEUE_REASONS = {
    low_confidence: "类别不确定", no_location: "地点不明", returned: "退回重新分拣",
    cap_reached: "退单次数已满", escalated: "上报市级",
  };
  const SERVICES = { gateway: "接入网关", intake: "受理服务", routing: "分拣交办服务", deadlines: "时限服务", ledger: "资金台账服务" };

  async function loadQueue(holder) {
    if (!["city_admin", "town_staff"].includes(viewer.role)) {
      holder.append(GJ.el("li", { className: "card" }, "人工分拣队列由市、镇街处理。"));
      return;
    }
    const answer = await staffGet("/api/v1/routing/queue?limit=500");
    if (answer.status !== 200) throw new Error("queue");
    const items = answer.data;
    card(holder, "待人工分拣", "queue", GJ.count(items.length), items.length, "机器无法确定类别或承办单位");
    // Classified surely by the model, waiting only for a person to place it: quick to clear.
    const toPlace = items.filter((q) => !q.triage.unsure && q.reason === "no_location");
    card(holder, "仅待定位", "place", GJ.count(toPlace.length), toPlace.length, "类别已确定，只缺镇街或村（社区）");
    const columns = ["编号", "层级", "镇街", "原因", "进入队列"];
    // On arrival the triage says every reason (both, when neither class nor place was sure).
    const why = (q) => (["low_confidence", "no_location"].includes(q.reason) && q.triage.manual_reasons.length
      ? q.triage.manual_reasons : [q.reason]).map((r) => QUEUE_REASONS[r] || r).join("、");
    const rows = (list) => list.map((q) => [
      { text: q.ticket_no, work: { q: q.ticket_no } }, q.level, q.town_code ? townName(q.town_code) : "—", why(q), GJ.when(q.created_at),
    ]);
    lists.queue = { title: "人工分拣队列", source: "/api/v1/routing/queue", columns, rows: rows(items) };
    lists.place = { title: "仅待定位的诉求", source: "/api/v1/routing/queue?unsure=false", columns, rows: rows(toPlace) };
  }

  /** Jobs that failed for good in any service (死信): each may leave an appeal stuck. */
  async function loadDeadLetters(holder) {
    if (!["city_admin", "auditor"].includes(viewer.role)) return;
    const answer = await staffGet("/api/v1/admin/dead-letters?limit=200");
    if (answer.status !== 200) throw new Error("dead letters");
    const d = answer.data;
    const silent = d.unavailable.map((s) => SERVICES[s] || s);
    const note = silent.length ? `未响应：${silent.join("、")}（未计入）` : "后台任务失败，相关诉求可能停滞，请重放或关闭";
    card(holder, "失败任务", "deadletters", GJ.count(d.open), d.open, note);
    lists.deadletters = {
      title: "待处理的失败任务（死信）",
      source: "/api/v1/admin/dead-letters",
      columns: ["服务", "编号", "事件或任务", "诉求ID", "失败时间", "错误"],
      rows: d.items.map((x) => [
        SERVICES[x.service] || x.service, String(x.id), x.event_type || x.job_name,
        x.appeal_id || "—", GJ.when(x.failed_at), x.error.slice(0, 80),
      ]),
    };
  }

  async function loadDemand() {
    const holder = GJ.clear($("demand-cards"));
    const tasks = [loadQueue(holder), loadDeadLetters(holder)];
    if (!["city_admin", "auditor", "town_staff"].includes(viewer.role)) {
      GJ.describe($("demand-summary"), "需求分析面向市、镇街两级。");
      await Promise.all(tasks);
      return;
    }
    const answer = await staffGet("/api/v1/stats/demand?period=month");
    await Promise.all(tasks);
    if (answer.status !== 200) throw new Error("demand");
    const d = answer.data;
    const spot = (s) => `${s.village || s.village_code} · ${s.category_name || GJ.label(GJ.CATEGORY, s.category)}`;
    card(holder, "需求热点", "hot", GJ.count(d.hot_spots.length, "处"), d.hot_spots.length, "本月诉求最多的村（社区）与类别");
    card(holder, "上升需求", "rising", GJ.count(d.rising.length, "处"), d.rising.length, "比上月明显增多");
    const columns = ["村（社区） · 类别", "本月（件）", "上月（件）", "变化"];
    const rows = (list) => list.map((s) => [spot(s), String(s.received), String(s.previous), s.change === null ? "新出现" : `${(s.change * 100).toFixed(0)}%`]);
    lists.hot = { title: "需求热点", source: "/api/v1/stats/demand", columns, rows: rows(d.hot_spots) };
    lists.rising = { title: "上升需求", source: "/api/v1/stats/demand", columns, rows: rows(d.rising) };
    const top = d.hot_spots.slice(0, 10);
    charts.demand.setOption({
      ...GJ.baseOption("本月需求热点"),
      grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", name: "件", minInterval: 1, axisLabel: { color: "#c3d3e3" } },
      yAxis: { type: "category", inverse: true, data: top.map(spot), axisLabel: { color: "#f2f6fa" } },
      series: [{ type: "bar", name: "本月受理（件）", data: top.map((s) => s.received), label: { show: true, position: "right", color: "#f2f6fa" } }],
    });
    GJ.describe($("demand-summary"), top.length
      ? `本月诉求最多：${top.slice(0, 3).map((s) => `${spot(s)} ${GJ.count(s.received)}`).join("，")}；上升需求 ${GJ.count(d.rising.length, "处")}。`
      : "本月暂无需求热点。");
  }

  /** The units below the viewer whose send-backs are compared: towns for the city, else itself. */
  async function loadReturns() {
    const city = ["city_admin", "auditor"].includes(viewer.role);
    const units = city ? towns.map((t) => ({ level: "town", code: t.code, name: t.name, town: t.code })) : [{ ...scope(), name: "本单位" }];
    const reports = await Promise.all(
      units.map((u) => staffGet(`/api/v1/stats/kpis?level=${u.level}&code=${encodeURIComponent(u.code)}&period=month`)),
    );
    const figures = units.map((u, i) => {
      const row = ((reports[i].data && reports[i].data.rows) || []).find((r) => r.dim_value === "all");
      return { name: u.name, town: u.town, returned: row ? row.counts.returned || 0 : 0, received: row ? row.counts.received || 0 : 0 };
    }).sort((a, b) => b.returned - a.returned);
    const shown = figures.slice(0, 15);
    charts.returns.setOption({
      ...GJ.baseOption("各单位本月退单件数"),
      grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", name: "件", minInterval: 1, axisLabel: { color: "#c3d3e3" } },
      yAxis: { type: "category", inverse: true, data: shown.map((f) => f.name), axisLabel: { color: "#f2f6fa" } },
      series: [{ type: "bar", name: "退单（件）", data: shown.map((f) => f.returned), label: { show: true, position: "right", color: "#f2f6fa", formatter: (p) => `${p.value} 件` } }],
    });
    const total = figures.reduce((s, f) => s + f.returned, 0);
    lists.returns = { title: "各单位本月退单", source: "/api/v1/stats/kpis", columns: ["单位", "退单（件）", "受理（件）"], rows: figures.map((f) => [f.town ? { text: f.name, work: { town_code: f.town } } : f.name, String(f.returned), String(f.received)]) };
    const summary = $("returns-summary");
    GJ.clear(summary);
    const link = GJ.el("a", { href: "#detail", "data-list": "returns", "data-value": total }, GJ.count(total));
    link.addEventListener("click", (e) => { e.preventDefault(); showList("returns"); });
    summary.append(`本月退单合计 `, link, total ? `，最多：${figures.filter((f) => f.returned).slice(0, 3).map((f) => `${f.name} ${GJ.count(f.returned)}`).join("，")}。` : "。");
  }

  async function loadFunds() {
    let codes;
    if (["city_admin", "auditor"].includes(viewer.role)) codes = towns.map((t) => t.code);
    else if (viewer.role === "town_staff") codes = [viewer.org_code];
    else {
      GJ.describe($("funds-summary"), "镇街资金报表面向市、镇街两级（村（社区）可在台账中查看本村资金）。");
      return;
    }
    const answers = await Promise.all(codes.map((c) => staffGet(`/api/v1/ledger/reports/towns/${c}`)));
    const figures = codes.map((code, i) => {
      const r = answers[i].status === 200 ? answers[i].data : { sources: [], matching: null };
      const sum = (k) => r.sources.reduce((s, x) => s + x[k], 0);
      return { name: townName(code), balance: sum("balance_fen"), disbursed: sum("disbursed_fen"), matching: r.matching };
    });
    charts.funds.setOption({
      ...GJ.baseOption("各镇街资金结余与已拨付"),
      legend: { data: ["结余（元）", "已拨付（元）"], textStyle: { color: "#f2f6fa" }, top: 0 },
      grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: figures.map((f) => f.name), axisLabel: { color: "#f2f6fa", interval: 0, rotate: 45 } },
      yAxis: { type: "value", name: "元", axisLabel: { color: "#c3d3e3" } },
      series: [
        { type: "bar", name: "结余（元）", data: figures.map((f) => f.balance / 100) },
        { type: "bar", name: "已拨付（元）", data: figures.map((f) => f.disbursed / 100) },
      ],
    });
    const short = figures.filter((f) => f.matching && !f.matching.met);
    lists.funds = {
      title: "各镇街资金与配套",
      source: "/api/v1/ledger/reports/towns/{镇街}",
      columns: ["镇街", "结余", "已拨付", "配套应到位", "配套已到位", "配套缺口"],
      rows: figures.map((f) => [f.name, GJ.yuan(f.balance), GJ.yuan(f.disbursed),
        f.matching ? GJ.yuan(f.matching.required_fen) : "—", f.matching ? GJ.yuan(f.matching.received_fen) : "—",
        f.matching ? (f.matching.met ? "已达标" : `缺 ${GJ.yuan(f.matching.shortfall_fen)}`) : "—"]),
    };
    const summary = GJ.clear($("funds-summary"));
    const link = GJ.el("a", { href: "#detail", "data-list": "funds", "data-value": short.length }, GJ.count(short.length, "个"));
    link.addEventListener("click", (e) => { e.preventDefault(); showList("funds"); });
    const total = figures.reduce((s, f) => s + f.disbursed, 0);
    summary.append(`已拨付合计 ${GJ.yuan(total)}；配套资金未达标的镇街 `, link, "。");
  }

  /** Appeals in the viewer's scope, each number a link to the work list with its filter. */
  async function loadWork() {
    const answer = await staffGet("/api/v1/staff/appeals/summary");
    if (answer.status !== 200) throw new Error("summary");
    const s = answer.data;
    const soonFilter = { overdue: "false", due_before: addDays(GJ.today(), SOON_DAYS) };
    const soon = await GJW.count(soonFilter);
    const holder = GJ.clear($("work-cards"));
    const workCard = (title, value, text, filter, note) => {
      const li = GJ.el("li", { className: "card" });
      li.append(GJ.el("h3", {}, title), GJW.link(text, value, filter));
      if (note) li.append(GJ.el("span", { className: "note" }, note));
      holder.append(li);
    };
    workCard("全部诉求", s.total, GJ.count(s.total), {}, "本岗位范围内");
    workCard("超时诉求", s.overdue, GJ.count(s.overdue), { overdue: "true" }, "有时限已超期");
    workCard(`临期诉求（${SOON_DAYS}日内）`, soon.n, `${soon.more ? "≥" : ""}${GJ.count(soon.n)}`, soonFilter, "下一期限即将到期");
    for (const [status, name] of Object.entries(GJ.STATUS)) {
      const n = s.counts[status] || 0;
      if (n) workCard(name, n, GJ.count(n), { status });
    }
  }

  async function refresh() {
    const results = await Promise.allSettled([loadWork(), GJW.loadNotes(), loadKpis(), loadClocks(), loadDemand(), loadReturns(), loadFunds()]);
    if (!token) return;
    const failed = results.filter((r) => r.status === "rejected").length;
    GJ.setStatus($("updated"), failed ? `部分数据暂时无法更新（${failed} 项），稍后自动重试` : `数据更新于 ${GJ.when(new Date().toISOString())}`, failed > 0);
    document.body.dataset.loaded = "true";
  }

  function logout(message) {
    token = null;
    viewer = null;
    if (timer) clearInterval(timer);
    GJ.reset();
    GJW.reset();
    for (const name of Object.keys(lists)) delete lists[name];
    $("board").hidden = true;
    $("login").hidden = false;
    $("logout").hidden = true;
    $("viewer").textContent = "未登录";
    GJ.setStatus($("login-state"), message || "", Boolean(message));
    delete document.body.dataset.loaded;
  }

  async function login(event) {
    event.preventDefault();
    const username = $("username").value.trim();
    const password = $("password").value;
    if (!username || !password) {
      GJ.setStatus($("login-state"), "请输入用户名和密码。", true);
      return;
    }
    const response = await fetch("/api/v1/auth/staff", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ username, password }),
      credentials: "omit",
    });
    $("password").value = "";
    if (response.status !== 200) {
      GJ.setStatus($("login-state"), response.status === 429 ? "尝试过于频繁，请稍后再试。" : "用户名或密码不正确。", true);
      return;
    }
    token = (await response.json()).access_token;
    viewer = claims(token);
    $("viewer").textContent = `${viewer.username}（${ROLE[viewer.role] || viewer.role} · ${viewer.org_type === "town" ? townName(viewer.org_code) : viewer.org_type === "city" ? "全市" : unitName(viewer.org_type, viewer.org_code)}）`;
    $("login").hidden = true;
    $("board").hidden = false;
    $("logout").hidden = false;
    GJ.setStatus($("login-state"), "");
    for (const c of Object.values(charts)) c.resize();
    const wide = ["city_admin", "auditor"].includes(viewer.role);
    GJW.init({ get: staffGet, post: staffPost, unitName, townName, towns: wide ? towns : [], canWrite: viewer.role !== "auditor" });
    await refresh();
    timer = setInterval(refresh, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const reference = (await GJ.getJson("/static/pages/towns.json")).data;
    towns = reference.towns;
    villages = reference.villages || {};
    for (const name of ["clocks", "demand", "returns", "funds"]) charts[name] = GJ.chart($(`${name}-chart`));
    window.GJ_CHARTS = charts; // for the browser tests
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", () => logout("已退出登录。"));
  });
})();
