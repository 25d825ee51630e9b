/*
 * Agent console: the queue of handed-over conversations, one case in detail,
 * and live updates over /agent/ws (see docs/web-chat-protocol.md).
 * Text from customers and the server is only ever set with textContent.
 */
(function () {
  "use strict";

  const CSRF_TOKEN = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  const SOCKET_URL = (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + "/agent/ws";
  const LOGIN_URL = "/agent/login";
  const PING_MS = 15000;
  const RECONNECT_MIN_MS = 1000;
  const RECONNECT_MAX_MS = 15000;
  const TYPING_SHOWN_MS = 6000; // the widget repeats "typing" every 2 s while the customer types
  const INFO_MS = 5000;

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
  const DISPOSITIONS = { resolved: "Erledigt", callback: "Rückruf", forwarded: "Weitergeleitet", other: "Sonstiges" };
  const CHANNELS = { web: "Web", voice: "Telefon", phone: "Telefon", app: "App", rest: "API" };
  const PHONE_CHANNELS = ["voice", "phone"];
  const COMMODITIES = { electricity: "Strom", gas: "Gas", water: "Wasser", district_heating: "Fernwärme" };
  const LANGUAGES = { de: "DE", tr: "TR" };
  const LANGUAGE_NAMES = { de: "Deutsch", tr: "Türkisch" };

  const ICONS = {
    chat: "M5 3h14a3 3 0 0 1 3 3v9a3 3 0 0 1-3 3h-8l-5 4v-4a3 3 0 0 1-3-3V6a3 3 0 0 1 3-3z",
    phone: "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25c1.1.37 2.3.57 3.6.57a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z",
  };

  const state = {
    cases: [],
    receivedAt: new Map(), // case id → when its summary arrived; waiting times count on from there
    selectedId: null,
    detail: null, // the selected case with its transcript
    unread: new Set(), // cases with messages the agent has not looked at
    socket: null,
    everConnected: false,
    reconnectDelay: RECONNECT_MIN_MS,
    pingTimer: null,
    typingTimer: null,
    infoTimer: null,
    baseTitle: document.title,
  };

  const dom = {};

  // ---------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (name === "text") {
        node.textContent = value;
      } else if (name === "className") {
        node.className = value;
      } else {
        node.setAttribute(name, value);
      }
    });
    (children || []).filter((child) => child !== null && child !== undefined).forEach((child) => node.append(child));
    return node;
  }

  function icon(name) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  // mm:ss below an hour, h:mm above.
  function formatDuration(totalSeconds) {
    const seconds = Math.max(0, Math.floor(totalSeconds));
    if (seconds < 3600) {
      return pad(Math.floor(seconds / 60)) + ":" + pad(seconds % 60);
    }
    return Math.floor(seconds / 3600) + ":" + pad(Math.floor((seconds % 3600) / 60)) + " h";
  }

  function formatTime(iso) {
    const date = new Date(iso);
    if (!iso || isNaN(date.getTime())) {
      return "";
    }
    const time = date.toLocaleTimeString("de-DE", { hour: "2-digit", minute: "2-digit" });
    if (date.toDateString() === new Date().toDateString()) {
      return time;
    }
    return date.toLocaleDateString("de-DE", { day: "2-digit", month: "2-digit" }) + ". " + time;
  }

  function isPhone(summary) {
    return PHONE_CHANNELS.indexOf(summary.channel) !== -1;
  }

  function waitingSeconds(summary) {
    const received = state.receivedAt.get(summary.case_id) || Date.now();
    return (Number(summary.waiting_seconds) || 0) + (Date.now() - received) / 1000;
  }

  function findCase(caseId) {
    return state.cases.find((summary) => summary.case_id === caseId) || null;
  }

  // ---------------------------------------------------------------------------
  // Server calls
  // ---------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = CSRF_TOKEN;
      if (body !== undefined) {
        options.body = JSON.stringify(body);
      }
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      throw new ApiError(0, "Der Server ist nicht erreichbar. Bitte prüfen Sie die Verbindung.");
    }
    if (response.status === 401) {
      window.location.assign(LOGIN_URL);
      throw new ApiError(401, "Ihre Anmeldung ist abgelaufen.");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      throw new ApiError(response.status, errorText(response.status, data));
    }
    return data;
  }

  function errorText(status, data) {
    if (data && typeof data.detail === "string" && data.detail) {
      return data.detail;
    }
    if (status === 403) {
      return "Die Sicherheitsprüfung ist fehlgeschlagen. Bitte laden Sie die Seite neu.";
    }
    if (status === 404) {
      return "Der Fall wurde nicht gefunden.";
    }
    if (status === 409) {
      return "Der Fall wird bereits von jemand anderem bearbeitet.";
    }
    if (status === 422) {
      return "Die Eingabe wurde nicht angenommen. Bitte prüfen Sie Ihre Angaben.";
    }
    return "Es ist ein Fehler aufgetreten (" + status + "). Bitte versuchen Sie es erneut.";
  }

  function casePath(caseId, action) {
    return "/agent/api/cases/" + encodeURIComponent(caseId) + (action ? "/" + action : "");
  }

  // ---------------------------------------------------------------------------
  // Messages to the agent
  // ---------------------------------------------------------------------------

  function showError(text) {
    dom.errorText.textContent = text;
    dom.error.hidden = false;
  }

  function hideError() {
    dom.error.hidden = true;
    dom.errorText.textContent = "";
  }

  function showInfo(text) {
    dom.info.textContent = text;
    dom.info.hidden = false;
    clearTimeout(state.infoTimer);
    state.infoTimer = setTimeout(() => {
      dom.info.hidden = true;
    }, INFO_MS);
  }

  // ---------------------------------------------------------------------------
  // Queue
  // ---------------------------------------------------------------------------

  // The whole queue (when the console connects or catches up).
  function setCases(cases) {
    state.cases = Array.isArray(cases) ? cases : [];
    const now = Date.now();
    state.receivedAt = new Map(state.cases.map((summary) => [summary.case_id, now]));
    renderQueue();
    syncSelectedSummary();
  }

  // Priority cases (a supply block, a reconnection) first, then oldest first.
  function queueOrder(a, b) {
    return Number(Boolean(b.priority)) - Number(Boolean(a.priority)) || String(a.created_at).localeCompare(String(b.created_at));
  }

  // One case changed: waiting or claimed cases are (re)placed in queue order; others leave.
  function setCase(summary) {
    const cases = state.cases.filter((known) => known.case_id !== summary.case_id);
    state.receivedAt.delete(summary.case_id);
    if (summary.status === "waiting" || summary.status === "claimed") {
      cases.push(summary);
      cases.sort(queueOrder); // stable
      state.receivedAt.set(summary.case_id, Date.now());
    }
    state.cases = cases;
    renderQueue();
    syncSelectedSummary();
  }

  function renderQueue() {
    const focusedId = focusedQueueCaseId();
    dom.queue.replaceChildren(...state.cases.map(queueItem));
    dom.queueEmpty.hidden = state.cases.length > 0;

    const waiting = state.cases.filter((summary) => summary.status === "waiting").length;
    const claimed = state.cases.length - waiting;
    dom.queueCount.textContent = waiting + " wartend · " + claimed + " in Bearbeitung";
    document.title = (waiting ? "(" + waiting + ") " : "") + state.baseTitle;

    if (focusedId) {
      const button = dom.queue.querySelector('[data-case-id="' + CSS.escape(focusedId) + '"] button');
      if (button) {
        button.focus();
      }
    }
  }

  function focusedQueueCaseId() {
    const item = document.activeElement && document.activeElement.closest("[data-testid='queue-item']");
    return item ? item.getAttribute("data-case-id") : null;
  }

  function queueItem(summary) {
    const classes = ["queue-item", summary.status === "waiting" ? "is-waiting" : "is-claimed"];
    if (summary.mine) {
      classes.push("is-mine");
    }
    if (summary.case_id === state.selectedId) {
      classes.push("is-selected");
    }

    const firstLine = el("span", { className: "queue-line" }, [
      el("span", { className: "queue-id", text: summary.case_id }),
      channelBadge(summary),
      languageBadge(summary),
    ]);
    if (summary.live && !isPhone(summary)) {
      firstLine.append(el("span", { className: "live-dot", title: "Der Chat des Kunden ist geöffnet", text: "live" }));
    }
    if (state.unread.has(summary.case_id)) {
      firstLine.append(el("span", { className: "queue-unread", title: "Neue Nachricht" }),
        el("span", { className: "visually-hidden", text: "Neue Nachricht" }));
    }

    const button = el("button", { type: "button", className: "queue-button" }, [
      firstLine,
      el("span", {
        className: "queue-wait",
        "data-wait": summary.case_id,
        title: "Wartezeit",
        text: formatDuration(waitingSeconds(summary)),
      }),
      el("span", { className: "queue-reason", text: reasonLabel(summary.reason) }),
      summary.priority ? el("span", { className: "queue-priority", text: "Vorrang" }) : null,
      el("span", { className: "queue-claim", text: claimLabel(summary) }),
    ]);
    if (summary.case_id === state.selectedId) {
      button.setAttribute("aria-current", "true");
    }
    button.addEventListener("click", () => selectCase(summary.case_id));

    return el("li", {
      className: classes.join(" "),
      "data-testid": "queue-item",
      "data-case-id": summary.case_id,
    }, [button]);
  }

  function channelBadge(summary) {
    const badge = el("span", { className: "badge" }, [icon(isPhone(summary) ? "phone" : "chat")]);
    badge.append(CHANNELS[summary.channel] || String(summary.channel || "?"));
    return badge;
  }

  function languageBadge(summary) {
    return el("span", {
      className: "badge badge-lang",
      title: LANGUAGE_NAMES[summary.language] || "",
      text: LANGUAGES[summary.language] || String(summary.language || "?").toUpperCase(),
    });
  }

  function reasonLabel(reason) {
    return REASONS[reason] || String(reason || "Unbekannter Grund");
  }

  function claimLabel(summary) {
    if (summary.status === "closed") {
      return "Abgeschlossen";
    }
    if (summary.status !== "claimed") {
      return "Wartet auf Übernahme";
    }
    return summary.mine ? "Von Ihnen übernommen" : "Übernommen von " + (summary.claimed_by || "einer Kollegin/einem Kollegen");
  }

  // Waiting times tick every second without rebuilding the list.
  function tickWaitTimes() {
    dom.queue.querySelectorAll("[data-wait]").forEach((node) => {
      const summary = findCase(node.getAttribute("data-wait"));
      if (summary) {
        node.textContent = formatDuration(waitingSeconds(summary));
      }
    });
  }

  async function refreshQueue() {
    try {
      setCases(await api("GET", "/agent/api/cases"));
    } catch (error) {
      showError(error.message);
    }
  }

  // ---------------------------------------------------------------------------
  // Selected case
  // ---------------------------------------------------------------------------

  async function selectCase(caseId) {
    if (state.selectedId !== caseId) {
      hideError();
      dom.replyInput.value = "";
      dom.closeForm.reset();
      setCustomerTyping(false);
    }
    state.selectedId = caseId;
    state.unread.delete(caseId);
    window.history.replaceState(null, "", "#" + caseId);
    renderQueue();
    await loadCase(caseId);
  }

  async function loadCase(caseId) {
    try {
      const detail = await api("GET", casePath(caseId));
      if (state.selectedId === caseId) {
        state.detail = detail;
        renderCase();
      }
    } catch (error) {
      if (state.selectedId === caseId) {
        showError(error.message);
        if (error.status === 404) {
          clearSelection();
        }
      }
    }
  }

  function clearSelection() {
    state.selectedId = null;
    state.detail = null;
    window.history.replaceState(null, "", window.location.pathname);
    setCustomerTyping(false);
    renderQueue();
    renderCase();
  }

  // Merges a newer summary (from an action or a queue frame) into the open case.
  function applySummary(summary) {
    if (!state.detail || !summary || summary.case_id !== state.selectedId) {
      return;
    }
    const transcript = Array.isArray(summary.transcript) ? summary.transcript : state.detail.transcript;
    state.detail = Object.assign({}, state.detail, summary, { transcript: transcript, gone: false });
    renderCaseInfo();
  }

  // After a queue frame: the open case may have been claimed, released or closed elsewhere.
  function syncSelectedSummary() {
    if (!state.detail) {
      return;
    }
    const summary = findCase(state.selectedId);
    if (summary) {
      applySummary(summary);
    } else if (!state.detail.gone) {
      state.detail = Object.assign({}, state.detail, { gone: true });
      renderCaseInfo();
    }
  }

  function renderCase() {
    const detail = state.detail;
    dom.placeholder.hidden = Boolean(detail);
    dom.caseView.hidden = !detail;
    if (!detail) {
      return;
    }
    renderCaseInfo();
    renderTranscript();
  }

  // Everything but the transcript, so a queue update keeps the scroll position.
  function renderCaseInfo() {
    renderCaseHeader();
    renderCustomer();
    renderActions();
  }

  function renderCaseHeader() {
    const detail = state.detail;
    dom.caseTitle.textContent = "Fall " + detail.case_id;
    const meta = [channelBadge(detail), languageBadge(detail), el("span", { text: reasonLabel(detail.reason) })];
    if (detail.created_at) {
      meta.push(el("span", { className: "muted", text: "· seit " + formatTime(detail.created_at) }));
    }
    if (detail.live && !isPhone(detail)) {
      meta.push(el("span", { className: "live-dot", title: "Der Chat des Kunden ist geöffnet", text: "live" }));
    }
    dom.caseMeta.replaceChildren(...meta);

    let badge;
    if (detail.gone || detail.status === "closed") {
      badge = el("span", { className: "badge", text: "Nicht mehr in der Warteschlange" });
    } else if (detail.status === "waiting") {
      badge = el("span", { className: "badge badge-waiting", text: "Wartet" });
    } else {
      badge = el("span", { className: detail.mine ? "badge badge-mine" : "badge badge-claimed", text: claimLabel(detail) });
    }
    dom.caseStatus.replaceChildren(badge);
  }

  function renderCustomer() {
    const detail = state.detail;
    const nodes = [];
    const customer = detail.customer;
    if (customer) {
      nodes.push(el("p", { className: "customer-name", text: customer.name || "" }));
      const facts = el("dl", { className: "customer-facts" }, [
        el("dt", { text: "Kundennummer" }),
        el("dd", { text: customer.customer_number || "–" }),
      ]);
      if (detail.caller) {
        facts.append(el("dt", { text: "Anrufer" }), el("dd", { text: detail.caller }));
      }
      nodes.push(facts);
      const contracts = Array.isArray(customer.contracts) ? customer.contracts : [];
      if (contracts.length) {
        nodes.push(el("ul", { className: "contracts", "aria-label": "Verträge" }, contracts.map(contractItem)));
      }
    } else {
      nodes.push(el("p", { className: "unverified", text: "nicht identifiziert" }));
      if (detail.caller) {
        nodes.push(el("dl", { className: "customer-facts" }, [
          el("dt", { text: "Anrufer" }),
          el("dd", { text: detail.caller }),
        ]));
      }
    }
    const files = Array.isArray(detail.attachments) ? detail.attachments : [];
    if (files.length) {
      nodes.push(el("p", { className: "customer-name", text: "Belege des Kunden" }));
      nodes.push(el("ul", { className: "contracts", "data-testid": "case-attachments" }, files.map(attachmentItem)));
    }
    dom.customerDetails.replaceChildren(...nodes);
  }

  // A file the customer sent (a receipt), as a download link (bot/web/receipts.py).
  function attachmentItem(file) {
    const href = casePath(state.detail.case_id, "attachments/" + encodeURIComponent(String(file.id)));
    const size = Math.max(1, Math.round((Number(file.size) || 0) / 1024)) + " KB";
    const link = el("a", { href: href, download: String(file.filename || ""), "data-testid": "case-attachment",
      text: String(file.filename || "Datei") });
    return el("li", {}, [link, " (" + size + ", " + String(file.reference || "") + ")"]);
  }

  // A receipt arrived (the bot confirms it in the chat): show it in the case at once.
  async function refreshAttachments(caseId) {
    try {
      const detail = await api("GET", casePath(caseId));
      if (state.selectedId === caseId && state.detail) {
        state.detail.attachments = detail.attachments;
        renderCustomer();
      }
    } catch (error) {
      // the next selection of the case shows them
    }
  }

  function contractItem(contract) {
    const commodity = COMMODITIES[contract.commodity] || String(contract.commodity || "");
    const parts = [commodity, "Vertrag " + (contract.contract_number || "–")];
    if (contract.tariff) {
      parts.push(contract.tariff);
    }
    return el("li", { text: parts.join(" · ") });
  }

  // Which actions the agent has depends on status, ownership and channel.
  function renderActions() {
    const detail = state.detail;
    const open = !detail.gone && detail.status !== "closed";
    const mine = open && detail.status === "claimed" && Boolean(detail.mine);
    const phone = isPhone(detail);
    const web = detail.channel === "web";

    dom.claim.hidden = !(open && detail.status === "waiting");
    dom.release.hidden = !(mine && !phone);
    dom.actionRow.hidden = dom.claim.hidden && dom.release.hidden;
    dom.closeForm.hidden = !mine;
    dom.replyForm.hidden = !(mine && web);
    dom.phoneHint.hidden = !(mine && phone);

    let hint = "";
    if (!open) {
      hint = "Dieser Fall ist abgeschlossen oder an den Bot zurückgegeben.";
    } else if (detail.status === "waiting") {
      hint = phone ? "Mit der Übernahme wird der Anruf an Ihr Telefon durchgestellt." : "Der Fall wartet auf Übernahme.";
    } else if (!mine) {
      hint = "Dieser Fall wird von " + (detail.claimed_by || "einer Kollegin/einem Kollegen") + " bearbeitet.";
    } else if (web && !detail.live) {
      hint = "Der Chat des Kunden ist gerade geschlossen. Ihre Antwort erscheint dort, sobald er wieder geöffnet wird.";
    } else if (!web && !phone) {
      hint = "In diesem Kanal sind keine Antworten aus der Konsole möglich.";
    }
    dom.actionsHint.textContent = hint;
    dom.actionsHint.hidden = !hint;
  }

  // ---------------------------------------------------------------------------
  // Transcript
  // ---------------------------------------------------------------------------

  function renderTranscript() {
    const transcript = Array.isArray(state.detail.transcript) ? state.detail.transcript : [];
    dom.transcript.replaceChildren(...transcript.map(transcriptEntry));
    if (!transcript.length) {
      dom.transcript.append(el("p", { className: "muted", text: "Noch keine Nachrichten." }));
    }
    dom.transcript.scrollTop = dom.transcript.scrollHeight;
  }

  function appendMessage(message) {
    const transcript = state.detail.transcript || (state.detail.transcript = []);
    if (message.id !== undefined && transcript.some((known) => known.id === message.id)) {
      return; // the POST answer and the WebSocket both deliver an agent's reply
    }
    const atBottom = dom.transcript.scrollHeight - dom.transcript.scrollTop - dom.transcript.clientHeight < 40;
    if (!transcript.length) {
      dom.transcript.replaceChildren();
    }
    transcript.push(message);
    dom.transcript.append(transcriptEntry(message));
    if (atBottom || message.from === "agent") {
      dom.transcript.scrollTop = dom.transcript.scrollHeight;
    }
  }

  function transcriptEntry(message) {
    const from = ["customer", "bot", "agent", "system"].indexOf(message.from) !== -1 ? message.from : "system";
    const head = el("p", { className: "entry-head" }, [el("span", { className: "entry-from", text: senderLabel(message, from) })]);
    if (message.at) {
      head.append(el("time", { datetime: message.at, text: formatTime(message.at) }));
    }
    const entry = el("div", {
      className: "entry entry-" + from,
      "data-testid": "transcript-message",
      "data-from": from,
    }, [head, el("p", { className: "entry-text", text: String(message.text || "") })]);
    const buttons = Array.isArray(message.buttons) ? message.buttons.filter((button) => button && button.title) : [];
    if (buttons.length) {
      entry.append(el("p", {
        className: "entry-buttons",
        text: "Antwortvorschläge: " + buttons.map((button) => button.title).join(" · "),
      }));
    }
    return entry;
  }

  function senderLabel(message, from) {
    if (from === "agent") {
      return (message.agent_name || "Kundenservice") + " (Mitarbeiter/in)";
    }
    return { customer: "Kunde", bot: "Bot", system: "System" }[from];
  }

  function setCustomerTyping(active) {
    clearTimeout(state.typingTimer);
    dom.typing.hidden = !active;
    if (active) {
      state.typingTimer = setTimeout(() => setCustomerTyping(false), TYPING_SHOWN_MS);
    }
  }

  // ---------------------------------------------------------------------------
  // Actions
  // ---------------------------------------------------------------------------

  // Runs one server action with its button disabled; errors go to the error line.
  async function runAction(button, action) {
    button.disabled = true;
    hideError();
    try {
      await action();
    } catch (error) {
      showError(error.message);
    } finally {
      button.disabled = false;
    }
  }

  function claimCase() {
    const caseId = state.selectedId;
    return runAction(dom.claim, async () => {
      try {
        applySummary(await api("POST", casePath(caseId, "claim")));
      } catch (error) {
        if (error.status === 409) {
          await loadCase(caseId);
          throw new Error("Übernahme nicht möglich: " + error.message);
        }
        throw error;
      }
      showInfo("Sie haben Fall " + caseId + " übernommen.");
      focusFirstAction();
    });
  }

  function focusFirstAction() {
    if (!dom.replyForm.hidden) {
      dom.replyInput.focus();
    } else if (!dom.closeForm.hidden) {
      dom.closeNote.focus();
    }
  }

  function sendReply() {
    const caseId = state.selectedId;
    const text = dom.replyInput.value.trim();
    if (!text) {
      dom.replyInput.focus();
      return Promise.resolve();
    }
    return runAction(dom.replySend, async () => {
      const message = await api("POST", casePath(caseId, "messages"), { text: text });
      dom.replyInput.value = "";
      if (state.selectedId === caseId && message) {
        appendMessage(message);
      }
    });
  }

  function releaseCase() {
    const caseId = state.selectedId;
    return runAction(dom.release, async () => {
      const summary = await api("POST", casePath(caseId, "release"));
      applySummary(summary);
      showInfo("Fall " + caseId + " wurde an den Bot zurückgegeben.");
      dom.caseTitle.focus(); // the release button is gone now
      await refreshQueue();
    });
  }

  function closeCase() {
    const caseId = state.selectedId;
    const note = dom.closeNote.value.trim();
    if (!note) {
      dom.closeNote.setAttribute("aria-invalid", "true");
      showError("Bitte schreiben Sie eine Notiz, bevor Sie den Fall abschließen.");
      dom.closeNote.focus();
      return Promise.resolve();
    }
    dom.closeNote.removeAttribute("aria-invalid");
    const disposition = dom.disposition.value;
    return runAction(dom.closeSubmit, async () => {
      await api("POST", casePath(caseId, "close"), { disposition: disposition, note: note });
      dom.closeForm.reset();
      showInfo("Fall " + caseId + " abgeschlossen: " + (DISPOSITIONS[disposition] || disposition) + ".");
      state.cases = state.cases.filter((summary) => summary.case_id !== caseId);
      clearSelection();
      dom.queueTitle.focus(); // the case view is gone now
    });
  }

  // ---------------------------------------------------------------------------
  // Live updates
  // ---------------------------------------------------------------------------

  function connect() {
    const socket = new WebSocket(SOCKET_URL);
    state.socket = socket;
    socket.addEventListener("open", () => {
      state.reconnectDelay = RECONNECT_MIN_MS;
      dom.connection.hidden = true;
      state.pingTimer = setInterval(() => send({ type: "ping" }), PING_MS);
      if (state.everConnected) {
        catchUp(); // frames sent while we were away are lost
      }
      state.everConnected = true;
    });
    socket.addEventListener("message", (event) => handleFrame(event.data));
    socket.addEventListener("close", onSocketClosed);
  }

  async function onSocketClosed() {
    clearInterval(state.pingTimer);
    state.socket = null;
    dom.connection.textContent = "Live-Verbindung unterbrochen – neuer Versuch …";
    dom.connection.hidden = false;
    try {
      await api("GET", "/agent/api/me"); // redirects to the login page when the session ended
    } catch (error) {
      if (error.status === 401) {
        return;
      }
    }
    setTimeout(connect, state.reconnectDelay);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, RECONNECT_MAX_MS);
  }

  function send(frame) {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify(frame));
    }
  }

  function catchUp() {
    refreshQueue();
    if (state.selectedId) {
      loadCase(state.selectedId);
    }
  }

  function handleFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch (error) {
      return;
    }
    if (!frame || typeof frame !== "object") {
      return;
    }
    if (frame.type === "queue") {
      setCases(frame.cases);
    } else if (frame.type === "case" && frame.case && typeof frame.case.case_id === "string") {
      setCase(frame.case);
    } else if (frame.type === "message" && frame.message) {
      onCaseMessage(frame.case_id, frame.message);
    } else if (frame.type === "typing" && frame.case_id === state.selectedId) {
      setCustomerTyping(Boolean(frame.active));
    }
  }

  function onCaseMessage(caseId, message) {
    if (caseId === state.selectedId && state.detail) {
      if (message.from === "customer") {
        setCustomerTyping(false);
      } else if (message.from === "bot") {
        refreshAttachments(caseId);
      }
      appendMessage(message);
    } else if (message.from === "customer" && findCase(caseId)) {
      state.unread.add(caseId);
      renderQueue();
    }
  }

  // ---------------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------------

  function findElements() {
    const byId = (id) => document.getElementById(id);
    Object.assign(dom, {
      connection: byId("connection-banner"),
      queue: byId("queue"),
      queueEmpty: byId("queue-empty"),
      queueCount: byId("queue-count"),
      queueTitle: byId("queue-title"),
      error: byId("console-error"),
      errorText: byId("console-error-text"),
      errorClose: byId("console-error-close"),
      info: byId("console-info"),
      placeholder: byId("case-placeholder"),
      caseView: byId("case-view"),
      caseTitle: byId("case-title"),
      caseMeta: byId("case-meta"),
      caseStatus: byId("case-status"),
      transcript: byId("transcript"),
      typing: byId("customer-typing"),
      replyForm: byId("reply-form"),
      replyInput: byId("reply-input"),
      replySend: document.querySelector("[data-testid='reply-send']"),
      phoneHint: byId("phone-hint"),
      customerDetails: byId("customer-details"),
      actionsHint: byId("actions-hint"),
      actionRow: byId("action-row"),
      claim: byId("claim"),
      release: byId("release"),
      closeForm: byId("close-form"),
      disposition: byId("disposition"),
      closeNote: byId("close-note"),
      closeSubmit: document.querySelector("[data-testid='close-case']"),
    });
  }

  function bindEvents() {
    dom.errorClose.addEventListener("click", hideError);
    dom.claim.addEventListener("click", claimCase);
    dom.release.addEventListener("click", releaseCase);
    dom.replyForm.addEventListener("submit", (event) => {
      event.preventDefault();
      sendReply();
    });
    dom.replyInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendReply();
      }
    });
    dom.closeForm.addEventListener("submit", (event) => {
      event.preventDefault();
      closeCase();
    });
    dom.closeNote.addEventListener("input", () => dom.closeNote.removeAttribute("aria-invalid"));
  }

  async function start() {
    findElements();
    dom.closeForm.noValidate = true; // the note is checked in closeCase, with a readable message
    bindEvents();
    setInterval(tickWaitTimes, 1000);
    await refreshQueue();
    const fromHash = window.location.hash.slice(1);
    if (fromHash && findCase(fromHash)) {
      selectCase(fromHash);
    }
    connect();
  }

  start();
})();
