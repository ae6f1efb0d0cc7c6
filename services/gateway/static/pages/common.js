/* Shared helpers of the gateway's pages (民生大莞家).
 *
 * Rules every page keeps: text from the APIs goes in with textContent (never innerHTML);
 * every request goes to this origin; a figure is shown with its unit and in words beside any
 * colour. Polling is conditional: a URL's last ETag is sent back and a 304 reuses the last body.
 */
"use strict";

const GJ = (() => {
  const cache = new Map(); // url -> {etag, data}

  /** GET a JSON endpoint of this gateway with If-None-Match; resolves to {status, data}. */
  async function getJson(url, options = {}) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    const known = options.noCache ? null : cache.get(url);
    if (known && known.etag) headers["If-None-Match"] = known.etag;
    const response = await fetch(url, { headers, credentials: "omit", cache: "no-store" });
    if (response.status === 304 && known) return { status: 200, data: known.data, fresh: false };
    let data = null;
    const type = response.headers.get("content-type") || "";
    if (type.includes("json")) data = await response.json();
    if (response.ok && !options.noCache) {
      cache.set(url, { etag: response.headers.get("etag"), data });
    }
    return { status: response.status, data, fresh: true };
  }

  /** Forget every remembered body (a logout: the next viewer sees nothing of the last one's). */
  function reset() {
    cache.clear();
  }

  /** An element with attributes and text (text only: never markup from data). */
  function el(tag, attrs = {}, text = null) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined) continue;
      if (key === "className") node.className = value;
      else node.setAttribute(key, String(value));
    }
    if (text !== null && text !== undefined) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  const intFmt = new Intl.NumberFormat("zh-CN");
  const moneyFmt = new Intl.NumberFormat("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function count(n, unit = "件") {
    return `${intFmt.format(n || 0)} ${unit}`;
  }

  function rate(r) {
    if (r === null || r === undefined) return "暂无数据";
    return `${(r * 100).toFixed(1)}%`;
  }

  /** Fen to yuan, with 万元 for large sums (numbers on a wall display stay short). */
  function yuan(fen) {
    const y = (fen || 0) / 100;
    if (Math.abs(y) >= 100000) return `${moneyFmt.format(y / 10000)} 万元`;
    return `${moneyFmt.format(y)} 元`;
  }

  const dateTimeFmt = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
  const dateFmt = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });

  function when(iso) {
    return iso ? dateTimeFmt.format(new Date(iso)) : "—";
  }

  function day(iso) {
    return iso ? dateFmt.format(new Date(iso)) : "—";
  }

  /** Today's date in Asia/Shanghai as YYYY-MM-DD. */
  function today() {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
    return parts; // en-CA formats as YYYY-MM-DD
  }

  const STATUS = {
    received: "已受理",
    triaged: "已分拣",
    consulting: "协商议事中",
    approved: "方案已确定",
    in_progress: "办理中",
    completed: "已办结，待回访",
    reopened: "重新办理",
    closed: "已回访，办理结束",
    on_hold: "暂停（待补充材料）",
    returned: "退回重新分拣",
    rejected: "不予受理",
    merged: "已合并办理",
    withdrawn: "已撤回",
  };
  const KIND = { micro_project: "民生微实事", micro_wish: "民生微心愿" };
  const CATEGORY = {
    environment: "环境美化",
    housing_repair: "房屋修缮",
    facility: "服务设施建设",
    public_service: "公益服务",
    living: "生活",
    medical: "医疗",
    education: "教育",
    elderly_care: "养老",
    employment: "就业",
    housing: "住房",
    counselling: "心理疏导",
    rights: "权益维护",
    hospice: "安宁疗护",
  };
  const TRACK = { policy: "政策办理", express: "莞家速递", direct: "莞家直达", station: "莞家驿站" };
  const CLOCK = {
    triage: "分拣",
    sign_off: "签收",
    handling: "办理",
    consultation: "协商决定",
    works: "工程实施",
    feedback: "结果反馈",
  };
  const CLOCK_STATE = {
    running: "计时中",
    paused: "已暂停",
    met: "按时完成",
    overdue: "已超时",
    stopped: "已停止",
    breached: "超时完成",
  };
  const SOURCE = {
    city_finance: "市财政",
    city_charity: "市慈善会",
    town_matching: "镇街配套",
    village_collective: "村集体",
    donation: "社会捐赠",
    other: "其他",
  };

  function label(map, key) {
    if (key === null || key === undefined) return "—";
    return map[key] || String(key);
  }

  /** Text that summarises a chart for screen readers and for anyone who prefers words. */
  function describe(node, text) {
    node.textContent = text;
  }

  /** An ECharts instance on a container, resized with the window; aria and decal patterns on. */
  function chart(container) {
    const instance = echarts.init(container, null, { renderer: "canvas" });
    window.addEventListener("resize", () => instance.resize());
    return instance;
  }

  /** Base options every chart shares: Chinese labels, patterns as well as colours. */
  function baseOption(title) {
    return {
      aria: { enabled: true, label: { description: title }, decal: { show: true } },
      animation: false,
      textStyle: { fontFamily: "inherit" },
      tooltip: { trigger: "item", confine: true },
    };
  }

  function setStatus(node, text, isError = false) {
    node.textContent = text;
    node.classList.toggle("error", isError);
  }

  return {
    getJson,
    reset,
    el,
    clear,
    count,
    rate,
    yuan,
    when,
    day,
    today,
    label,
    describe,
    chart,
    baseOption,
    setStatus,
    STATUS,
    KIND,
    CATEGORY,
    TRACK,
    CLOCK,
    CLOCK_STATE,
    SOURCE,
    intFmt,
  };
})();
