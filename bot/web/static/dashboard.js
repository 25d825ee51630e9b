/*
 * Dashboard: figures from /agent/api/stats drawn as hand-written SVG.
 * Every chart has a text alternative (an aria-label summary and a data table).
 */
(function () {
  "use strict";

  const DAYS = 14;
  const STATS_URL = "/agent/api/stats?days=" + DAYS;
  const LOGIN_URL = "/agent/login";
  const SVG_NS = "http://www.w3.org/2000/svg";

  const CHANNEL_SERIES = [
    { key: "web", label: "Web-Chat", color: "#0a4a8f" },
    { key: "voice", label: "Telefon", color: "#1b6e3a" },
    { key: "rest", label: "API/App", color: "#b85c00" },
  ];
  const LANGUAGE_SERIES = [
    { key: "de", label: "Deutsch", color: "#0a4a8f" },
    { key: "tr", label: "Türkisch", color: "#b85c00" },
  ];
  const REASONS = {
    customer_request: "Kundenwunsch",
    repeated_fallback: "Bot hat nicht verstanden",
    identity_failed: "Identifizierung fehlgeschlagen",
    reduction_rejected: "Abschlagssenkung abgelehnt",
    upset: "Beschwerde/verärgert",
    service_request: "Serviceanliegen",
    implausible_reading: "Zählerstand unplausibel",
    payment_arrangement: "Zahlungsvereinbarung",
    supply_block: "Sperre droht",
    reconnection: "Entsperrung",
    move: "Umzug",
    technical_problem: "Technische Störung",
  };

  const numberFormat = new Intl.NumberFormat("de-DE");
  const percentFormat = new Intl.NumberFormat("de-DE", { style: "percent", maximumFractionDigits: 0 });

  // ---------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    setAttributes(node, attributes);
    (children || []).forEach((child) => node.append(child));
    return node;
  }

  function svgEl(tag, attributes, children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttributes(node, attributes);
    (children || []).forEach((child) => node.append(child));
    return node;
  }

  function setAttributes(node, attributes) {
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (name === "text") {
        node.textContent = value;
      } else if (name === "className") {
        node.setAttribute("class", value);
      } else {
        node.setAttribute(name, String(value));
      }
    });
  }

  function count(value) {
    return Number(value) || 0;
  }

  // "2025-05-12" → "12.05." (read as a calendar date, not shifted by the time zone)
  function shortDate(iso) {
    const parts = String(iso || "").split("-");
    return parts.length === 3 ? parts[2].slice(0, 2) + "." + parts[1] + "." : String(iso || "");
  }

  function formatWait(totalSeconds) {
    if (totalSeconds === null || totalSeconds === undefined || isNaN(Number(totalSeconds))) {
      return "–";
    }
    const seconds = Math.round(Number(totalSeconds));
    if (seconds < 60) {
      return seconds + " s";
    }
    const pad = (n) => String(n).padStart(2, "0");
    if (seconds < 3600) {
      return Math.floor(seconds / 60) + ":" + pad(seconds % 60) + " min";
    }
    return Math.floor(seconds / 3600) + ":" + pad(Math.floor((seconds % 3600) / 60)) + " h";
  }

  // A round axis maximum and step (1, 2 or 5 times a power of ten) for about five ticks.
  function niceScale(maxValue) {
    if (maxValue <= 0) {
      return { max: 5, step: 1 };
    }
    const rough = maxValue / 5;
    const power = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough);
    const wholeStep = Math.max(1, step);
    return { max: Math.ceil(maxValue / wholeStep) * wholeStep, step: wholeStep };
  }

  // ---------------------------------------------------------------------------
  // Text alternatives
  // ---------------------------------------------------------------------------

  function dataTable(caption, headers, rows) {
    const headRow = el("tr", {}, headers.map((header, index) =>
      el("th", { scope: "col", className: index ? "number" : "", text: header })));
    const bodyRows = rows.map((row) => el("tr", {}, row.map((cell, index) =>
      index ? el("td", { className: "number", text: numberFormat.format(cell) }) : el("th", { scope: "row", text: cell }))));
    return el("table", { className: "data-table" }, [
      el("caption", { text: caption }),
      el("thead", {}, [headRow]),
      el("tbody", {}, bodyRows),
    ]);
  }

  function tableToggle(table) {
    return el("details", { className: "data-table-toggle" }, [el("summary", { text: "Daten als Tabelle" }), table]);
  }

  function legend(series) {
    return el("ul", { className: "legend", "aria-hidden": "true" }, series.map((item) => {
      const swatch = el("span", { className: "legend-swatch" });
      swatch.style.backgroundColor = item.color;
      return el("li", {}, [swatch, item.label]);
    }));
  }

  // ---------------------------------------------------------------------------
  // Bars per day (stacked or grouped)
  // ---------------------------------------------------------------------------

  function dayChart(container, options) {
    const days = options.days;
    const series = options.series;
    const valuesOf = (day) => series.map((item) => count((options.pick(day) || {})[item.key]));
    const totals = days.map((day) => valuesOf(day).reduce((sum, value) => sum + value, 0));
    if (!days.length) {
      container.append(el("p", { className: "chart-empty", text: "Für diesen Zeitraum liegen keine Daten vor." }));
      return;
    }

    const width = 1100;
    const height = 300;
    const margin = { top: 12, right: 12, bottom: 52, left: 56 };
    const plotWidth = width - margin.left - margin.right;
    const plotHeight = height - margin.top - margin.bottom;
    const highest = options.stacked ? Math.max(...totals) : Math.max(...days.map((day) => Math.max(...valuesOf(day))));
    const scale = niceScale(highest);
    const y = (value) => margin.top + plotHeight - (value / scale.max) * plotHeight;
    const slot = plotWidth / days.length;
    const barWidth = Math.min(36, slot * 0.7);

    const svg = chartSvg(width, height, options.summary(totals));
    drawValueAxis(svg, scale, y, margin, width, "Gespräche");

    const labelEvery = Math.ceil(days.length / 14);
    days.forEach((day, index) => {
      const x = margin.left + index * slot + (slot - barWidth) / 2;
      const values = valuesOf(day);
      if (options.stacked) {
        let base = 0;
        values.forEach((value, seriesIndex) => {
          if (value > 0) {
            svg.append(bar(x, y(base + value), barWidth, y(base) - y(base + value), series[seriesIndex], day, value));
          }
          base += value;
        });
      } else {
        const groupWidth = barWidth / series.length;
        values.forEach((value, seriesIndex) => {
          svg.append(bar(x + seriesIndex * groupWidth, y(value), groupWidth - 1, y(0) - y(value), series[seriesIndex], day, value));
        });
      }
      if (index % labelEvery === 0) {
        svg.append(svgEl("text", {
          x: margin.left + index * slot + slot / 2,
          y: margin.top + plotHeight + 18,
          "text-anchor": "middle",
          text: shortDate(day.date),
        }));
      }
    });
    svg.append(svgEl("text", {
      class: "axis-title",
      x: margin.left + plotWidth / 2,
      y: height - 6,
      "text-anchor": "middle",
      text: "Tag",
    }));

    const rows = days.map((day, index) => [shortDate(day.date)].concat(valuesOf(day), options.stacked ? [totals[index]] : []));
    const headers = ["Tag"].concat(series.map((item) => item.label), options.stacked ? ["Summe"] : []);
    container.append(legend(series), svg, tableToggle(dataTable(options.caption, headers, rows)));
  }

  // An SVG that scales down on narrow screens but never above its drawn size,
  // so its text stays at the size of the page text.
  function chartSvg(width, height, label) {
    const svg = svgEl("svg", {
      class: "chart-svg",
      viewBox: "0 0 " + width + " " + height,
      role: "img",
      "aria-label": label,
    });
    svg.style.maxWidth = width + "px";
    return svg;
  }

  function bar(x, y, width, height, item, day, value) {
    return svgEl("rect", { x: x, y: y, width: Math.max(0, width), height: Math.max(0, height), fill: item.color }, [
      svgEl("title", { text: shortDate(day.date) + " " + item.label + ": " + numberFormat.format(value) }),
    ]);
  }

  // Horizontal grid lines with tick labels, the axis line and its rotated title.
  function drawValueAxis(svg, scale, y, margin, width, title) {
    for (let value = 0; value <= scale.max; value += scale.step) {
      svg.append(svgEl("line", { class: value ? "grid" : "axis", x1: margin.left, x2: width - margin.right, y1: y(value), y2: y(value) }));
      svg.append(svgEl("text", { x: margin.left - 8, y: y(value) + 4, "text-anchor": "end", text: numberFormat.format(value) }));
    }
    const middle = (y(0) + y(scale.max)) / 2;
    svg.append(svgEl("text", {
      class: "axis-title",
      x: 14,
      y: middle,
      "text-anchor": "middle",
      transform: "rotate(-90 14 " + middle + ")",
      text: title,
    }));
  }

  function seriesSummary(title, days, series, pick) {
    return (totals) => {
      const perSeries = series.map((item) =>
        item.label + " " + numberFormat.format(days.reduce((sum, day) => sum + count((pick(day) || {})[item.key]), 0)));
      const sum = totals.reduce((total, value) => total + value, 0);
      return title + ", " + days.length + " Tage: insgesamt " + numberFormat.format(sum) + " (" + perSeries.join(", ") + ").";
    };
  }

  // ---------------------------------------------------------------------------
  // Handoffs by reason (horizontal bars)
  // ---------------------------------------------------------------------------

  function reasonChart(container, byReason) {
    const counts = Object.assign({}, ...Object.keys(REASONS).map((reason) => ({ [reason]: 0 })), byReason || {});
    const rows = Object.entries(counts)
      .map(([reason, value]) => ({ label: REASONS[reason] || reason, value: count(value) }))
      .sort((a, b) => b.value - a.value);
    const total = rows.reduce((sum, row) => sum + row.value, 0);

    const width = 560;
    const rowHeight = 32;
    const margin = { top: 8, right: 48, bottom: 40, left: 210 };
    const plotWidth = width - margin.left - margin.right;
    const height = margin.top + rows.length * rowHeight + margin.bottom;
    const scale = niceScale(Math.max(0, ...rows.map((row) => row.value)));
    const x = (value) => margin.left + (value / scale.max) * plotWidth;

    const svg = chartSvg(width, height, "Übergaben nach Grund, insgesamt " + numberFormat.format(total) + ": " +
      rows.map((row) => row.label + " " + numberFormat.format(row.value)).join(", ") + ".");
    const bottom = margin.top + rows.length * rowHeight;
    for (let value = 0; value <= scale.max; value += scale.step) {
      svg.append(svgEl("line", { class: value ? "grid" : "axis", x1: x(value), x2: x(value), y1: margin.top, y2: bottom }));
      svg.append(svgEl("text", { x: x(value), y: bottom + 16, "text-anchor": "middle", text: numberFormat.format(value) }));
    }
    rows.forEach((row, index) => {
      const top = margin.top + index * rowHeight;
      svg.append(svgEl("text", { x: margin.left - 10, y: top + rowHeight / 2 + 4, "text-anchor": "end", text: row.label }));
      svg.append(svgEl("rect", {
        x: margin.left,
        y: top + 6,
        width: Math.max(0, x(row.value) - margin.left),
        height: rowHeight - 12,
        fill: "#0a4a8f",
      }, [svgEl("title", { text: row.label + ": " + numberFormat.format(row.value) })]));
      svg.append(svgEl("text", { class: "bar-label", x: x(row.value) + 6, y: top + rowHeight / 2 + 4, text: numberFormat.format(row.value) }));
    });
    svg.append(svgEl("text", {
      class: "axis-title",
      x: margin.left + plotWidth / 2,
      y: height - 6,
      "text-anchor": "middle",
      text: "Anzahl Übergaben",
    }));

    container.append(svg, tableToggle(dataTable("Übergaben nach Grund", ["Grund", "Anzahl"], rows.map((row) => [row.label, row.value]))));
  }

  // ---------------------------------------------------------------------------
  // Top intents (a table is the clearest form)
  // ---------------------------------------------------------------------------

  function intentTable(container, topIntents) {
    const rows = (Array.isArray(topIntents) ? topIntents : [])
      .filter((entry) => Array.isArray(entry) && entry.length >= 2)
      .map((entry) => [String(entry[0]), count(entry[1])]);
    if (!rows.length) {
      container.append(el("p", { className: "chart-empty", text: "Noch keine Anliegen erfasst." }));
      return;
    }
    const table = dataTable("Erkannte Anliegen (Intents) nach Häufigkeit", ["Anliegen", "Anzahl"], rows);
    table.querySelectorAll("tbody th").forEach((cell) => {
      const code = el("code", { text: cell.textContent });
      cell.replaceChildren(code);
    });
    container.append(table);
  }

  // ---------------------------------------------------------------------------
  // Containment per request and channel (a table: requests × channels)
  // ---------------------------------------------------------------------------

  const CONTAINMENT_CHANNELS = [
    { key: "web", label: "Web-Chat" },
    { key: "voice", label: "Telefon" },
    { key: "rest", label: "API" },
  ];

  function shareText(cell) {
    if (!cell || typeof cell.share !== "number") {
      return "–";
    }
    return percentFormat.format(cell.share) + " (" + numberFormat.format(count(cell.contained)) + "/" +
      numberFormat.format(count(cell.conversations)) + ")";
  }

  function containmentTable(container, rows) {
    const entries = (Array.isArray(rows) ? rows : []).filter((row) => row && typeof row.intent === "string");
    if (!entries.length) {
      container.append(el("p", { className: "chart-empty", text: "Noch keine Anliegen erfasst." }));
      return;
    }
    const headers = ["Anliegen", "Gesamt", ...CONTAINMENT_CHANNELS.map((channel) => channel.label)];
    const headRow = el("tr", {}, headers.map((header, index) =>
      el("th", { scope: "col", className: index ? "number" : "", text: header })));
    const bodyRows = entries.map((row) => el("tr", { "data-intent": row.intent }, [
      el("th", { scope: "row" }, [el("code", { text: row.intent === "none" ? "(kein Anliegen)" : row.intent })]),
      el("td", { className: "number", text: shareText(row) }),
      ...CONTAINMENT_CHANNELS.map((channel) =>
        el("td", { className: "number", text: shareText((row.by_channel || {})[channel.key]) })),
    ]));
    container.append(el("table", { className: "data-table" }, [
      el("caption", { text: "Ohne Übergabe gelöst, nach Anliegen und Kanal (gelöst/Gespräche)" }),
      el("thead", {}, [headRow]),
      el("tbody", {}, bodyRows),
    ]));
  }

  // ---------------------------------------------------------------------------
  // Loading
  // ---------------------------------------------------------------------------

  function renderStats(stats) {
    const days = Array.isArray(stats.days) ? stats.days : [];
    document.getElementById("kpi-conversations").textContent = numberFormat.format(count(stats.conversations));
    document.getElementById("kpi-containment").textContent =
      typeof stats.containment === "number" ? percentFormat.format(stats.containment) : "–";
    document.getElementById("kpi-average-wait").textContent = formatWait(stats.average_wait_seconds);
    document.getElementById("kpis").setAttribute("aria-busy", "false");

    const byChannel = (day) => day.by_channel;
    const byLanguage = (day) => day.by_language;
    dayChart(document.getElementById("chart-channels"), {
      days: days,
      series: CHANNEL_SERIES,
      pick: byChannel,
      stacked: true,
      caption: "Gespräche pro Tag nach Kanal",
      summary: seriesSummary("Gespräche pro Tag nach Kanal (gestapelt)", days, CHANNEL_SERIES, byChannel),
    });
    dayChart(document.getElementById("chart-languages"), {
      days: days,
      series: LANGUAGE_SERIES,
      pick: byLanguage,
      stacked: false,
      caption: "Gespräche pro Tag nach Sprache",
      summary: seriesSummary("Gespräche pro Tag nach Sprache (nebeneinander)", days, LANGUAGE_SERIES, byLanguage),
    });
    reasonChart(document.getElementById("chart-reasons"), stats.handoffs_by_reason);
    intentTable(document.getElementById("top-intents"), stats.top_intents);
    containmentTable(document.getElementById("containment-by-intent"), stats.containment_by_intent);
  }

  function showError(text) {
    const box = document.getElementById("dashboard-error");
    box.textContent = text;
    box.hidden = false;
  }

  async function load() {
    let response;
    try {
      response = await fetch(STATS_URL, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (error) {
      showError("Die Kennzahlen konnten nicht geladen werden: Der Server ist nicht erreichbar.");
      return;
    }
    if (response.status === 401) {
      window.location.assign(LOGIN_URL);
      return;
    }
    if (!response.ok) {
      showError("Die Kennzahlen konnten nicht geladen werden (Fehler " + response.status + ").");
      return;
    }
    renderStats(await response.json());
  }

  load();
})();
