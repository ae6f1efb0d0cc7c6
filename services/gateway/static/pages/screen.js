/* 数据大屏: the public big screen. Reads the public endpoints only, conditionally (ETag):
 *   /api/v1/stats/public (city, this month and year; by kind; each town this year)
 *   /api/v1/public/funds (money per source)
 *   /api/v1/public/appeals (recently completed, from the disclosure list)
 * and shows nothing they do not give. */
"use strict";

(() => {
  const REFRESH_MS = 60_000;
  const TOWNS_REFRESH_MS = 300_000; // 33 requests: less often than the city figures
  const $ = (id) => document.getElementById(id);
  const charts = {};
  let towns = [];
  let lastTowns = 0;

  /** The counts and KPIs of the stats report's row (by=all has one row; none yet means zeros). */
  function row(report, value = "all") {
    const found = (report && report.rows ? report.rows : []).find((r) => r.dim_value === value);
    return found || { counts: {}, kpis: {}, funds_fen: {} };
  }

  function setFigure(name, raw, text) {
    const node = document.querySelector(`[data-figure="${name}"]`);
    node.dataset.value = raw === null || raw === undefined ? "" : String(raw);
    node.textContent = text;
  }

  async function stats(params) {
    const query = new URLSearchParams(params).toString();
    const answer = await GJ.getJson(`/api/v1/stats/public?${query}`);
    if (answer.status !== 200) throw new Error(`stats ${answer.status}`);
    return answer.data;
  }

  async function loadKpis() {
    const [month, year, yearKinds] = await Promise.all([
      stats({ period: "month" }),
      stats({ period: "year" }),
      stats({ period: "year", by: "kind" }),
    ]);
    const m = row(month);
    const y = row(year);
    setFigure("month.received", m.counts.received || 0, GJ.intFmt.format(m.counts.received || 0));
    setFigure("month.completed", m.counts.completed || 0, GJ.intFmt.format(m.counts.completed || 0));
    setFigure("year.received", y.counts.received || 0, GJ.intFmt.format(y.counts.received || 0));
    setFigure("year.completed", y.counts.completed || 0, GJ.intFmt.format(y.counts.completed || 0));
    setFigure("year.on_time_rate", y.kpis.on_time_rate, GJ.rate(y.kpis.on_time_rate));
    setFigure("year.satisfaction_rate", y.kpis.satisfaction_rate, GJ.rate(y.kpis.satisfaction_rate));
    const wish = row(yearKinds, "micro_wish").counts.completed || 0;
    const project = row(yearKinds, "micro_project").counts.completed || 0;
    setFigure("year.micro_wish.completed", wish, GJ.intFmt.format(wish));
    setFigure("year.micro_project.completed", project, GJ.intFmt.format(project));
  }

  async function loadFunds() {
    const answer = await GJ.getJson("/api/v1/public/funds");
    if (answer.status !== 200) throw new Error(`funds ${answer.status}`);
    const sources = answer.data.sources || [];
    const tbody = GJ.clear($("funds-table"));
    for (const s of sources) {
      const tr = GJ.el("tr", { "data-source": s.source_code });
      tr.append(
        GJ.el("th", { scope: "row" }, s.source_name || GJ.label(GJ.SOURCE, s.source_code)),
        GJ.el("td", { className: "num", "data-fen": s.disbursed_fen }, GJ.yuan(s.disbursed_fen)),
        GJ.el("td", { className: "num" }, GJ.yuan(s.reserved_fen)),
        GJ.el("td", { className: "num" }, GJ.yuan(s.received_fen)),
      );
      tbody.append(tr);
    }
    const names = sources.map((s) => s.source_name || GJ.label(GJ.SOURCE, s.source_code));
    const values = sources.map((s) => s.disbursed_fen / 100);
    charts.funds.setOption({
      ...GJ.baseOption("各资金来源已拨付金额"),
      grid: { left: 8, right: 24, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: names, axisLabel: { color: "#c3d3e3", interval: 0 } },
      yAxis: { type: "value", name: "元", nameTextStyle: { color: "#c3d3e3" }, axisLabel: { color: "#c3d3e3" } },
      series: [
        {
          type: "bar",
          name: "已拨付（元）",
          data: values,
          label: { show: true, position: "top", color: "#f2f6fa", formatter: (p) => GJ.yuan(Math.round(p.value * 100)) },
        },
      ],
    });
    const total = sources.reduce((sum, s) => sum + s.disbursed_fen, 0);
    const parts = sources
      .map((s, i) => ({ name: names[i], fen: s.disbursed_fen }))
      .filter((p) => p.fen > 0)
      .map((p) => `${p.name} ${GJ.yuan(p.fen)}`);
    GJ.describe(
      $("funds-summary"),
      `累计已拨付 ${GJ.yuan(total)}` + (parts.length ? `：${parts.join("，")}。` : "，暂无拨付记录。"),
    );
  }

  async function loadTowns() {
    if (!towns.length) {
      const answer = await GJ.getJson("/static/pages/towns.json");
      towns = answer.data.towns;
    }
    const reports = await Promise.all(
      towns.map((t) => stats({ level: "town", code: t.code, period: "year" })),
    );
    const figures = towns.map((t, i) => {
      const r = row(reports[i]);
      return { ...t, received: r.counts.received || 0, completed: r.counts.completed || 0 };
    });
    const ranked = [...figures].sort((a, b) => b.received - a.received || a.code.localeCompare(b.code));
    // A zero is said by the summary and the tooltip; 33 "0" labels would only hide the bars.
    const barLabel = { show: true, position: "right", color: "#f2f6fa", fontSize: 11, formatter: (p) => (p.value ? `${p.value} 件` : "") };
    const maxReceived = Math.max(1, ...figures.map((f) => f.received));
    charts.map.setOption({
      ...GJ.baseOption("各镇街本年受理量气泡图"),
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: "value", name: "经度", min: 113.5, max: 114.25, scale: true, axisLabel: { color: "#c3d3e3" }, splitLine: { show: false } },
      yAxis: { type: "value", name: "纬度", min: 22.7, max: 23.15, scale: true, axisLabel: { color: "#c3d3e3" }, splitLine: { show: false } },
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: (p) =>
          `${echarts.format.encodeHTML(p.data.name)}<br>受理 ${GJ.count(p.data.value[2])}，办结 ${GJ.count(p.data.value[3])}`,
      },
      series: [
        {
          type: "scatter",
          name: "本年受理（件）",
          data: figures.map((f) => ({ name: f.name, value: [f.lng, f.lat, f.received, f.completed] })),
          symbolSize: (v) => 10 + 40 * Math.sqrt(v[2] / maxReceived),
          label: {
            show: true,
            position: "right",
            color: "#f2f6fa",
            fontSize: 11,
            formatter: (p) => `${p.data.name} ${p.data.value[2]}`,
          },
          itemStyle: { opacity: 0.85, borderColor: "#ffffff", borderWidth: 1 },
        },
      ],
    });
    charts.rank.setOption({
      ...GJ.baseOption("各镇街本年受理与办结排行"),
      legend: { data: ["受理（件）", "办结（件）"], textStyle: { color: "#f2f6fa" }, top: 0 },
      grid: { left: 8, right: 40, top: 28, bottom: 8, containLabel: true },
      xAxis: { type: "value", name: "件", axisLabel: { color: "#c3d3e3" } },
      yAxis: {
        type: "category",
        inverse: true,
        data: ranked.map((f) => f.name),
        axisLabel: { color: "#f2f6fa", interval: 0, fontSize: 11 },
      },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      series: [
        { type: "bar", name: "受理（件）", data: ranked.map((f) => f.received), label: barLabel },
        { type: "bar", name: "办结（件）", data: ranked.map((f) => f.completed), label: barLabel },
      ],
    });
    const busy = ranked.filter((f) => f.received > 0).slice(0, 5);
    const text = busy.length
      ? `本年受理最多的镇街：${busy.map((f) => `${f.name} ${GJ.count(f.received)}（办结 ${GJ.count(f.completed)}）`).join("，")}。`
      : "本年各镇街暂无受理记录。";
    GJ.describe($("towns-summary"), text);
    GJ.describe($("rank-summary"), text);
    const holder = $("towns-map");
    holder.dataset.towns = String(figures.length);
    holder.dataset.received = String(figures.reduce((s, f) => s + f.received, 0));
  }

  async function loadRecent() {
    const [completed, closed] = await Promise.all([
      GJ.getJson("/api/v1/public/appeals?status=completed&page_size=10"),
      GJ.getJson("/api/v1/public/appeals?status=closed&page_size=10"),
    ]);
    if (completed.status !== 200 || closed.status !== 200) throw new Error("disclosure");
    const items = [...completed.data.items, ...closed.data.items]
      .filter((a) => a.completed_at)
      .sort((a, b) => (a.completed_at < b.completed_at ? 1 : -1))
      .slice(0, 8);
    const tbody = GJ.clear($("recent"));
    if (!items.length) {
      const tr = GJ.el("tr");
      tr.append(GJ.el("td", { colspan: 6 }, "暂无已办结事项。"));
      tbody.append(tr);
      return;
    }
    for (const a of items) {
      const tr = GJ.el("tr", { "data-ticket": a.ticket_no });
      const place = [a.town, a.village].filter(Boolean).join(" · ") || "—";
      tr.append(
        GJ.el("td", {}, GJ.when(a.completed_at)),
        GJ.el("td", {}, a.ticket_no),
        GJ.el("td", {}, place),
        GJ.el("td", {}, `${GJ.label(GJ.KIND, a.kind)} · ${a.category_name || GJ.label(GJ.CATEGORY, a.category)}`),
        GJ.el("td", {}, a.title),
        GJ.el("td", { className: "num" }, GJ.yuan(a.funds_used_fen)),
      );
      tbody.append(tr);
    }
  }

  async function refresh() {
    const tasks = [loadKpis(), loadFunds(), loadRecent()];
    if (Date.now() - lastTowns >= TOWNS_REFRESH_MS) {
      tasks.push(loadTowns().then(() => (lastTowns = Date.now())));
    }
    const results = await Promise.allSettled(tasks);
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed) {
      GJ.setStatus($("updated"), `部分数据暂时无法更新（${failed} 项），稍后自动重试`, true);
    } else {
      GJ.setStatus($("updated"), `数据更新于 ${GJ.when(new Date().toISOString())}`);
    }
    document.body.dataset.loaded = "true";
  }

  document.addEventListener("DOMContentLoaded", () => {
    charts.funds = GJ.chart($("funds-chart"));
    charts.map = GJ.chart($("towns-map"));
    charts.rank = GJ.chart($("towns-rank"));
    window.GJ_CHARTS = charts; // for the browser tests: each chart's instance and its data
    refresh();
    setInterval(refresh, REFRESH_MS);
  });
})();
