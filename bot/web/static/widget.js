/*
 * Stadtwerk customer chat widget.
 *
 * Embedded with one tag:
 *   <script src="https://<chat server>/static/widget.js" defer data-language="de"></script>
 * It builds itself inside an open shadow root on <div id="stadtwerk-chat"> and
 * talks to the server over the WebSocket described in docs/web-chat-protocol.md.
 * No dependencies, no build step (ES2019). Message text is only ever set with
 * textContent.
 */
(function () {
  "use strict";

  if (window.StadtwerkChat) {
    return; // embedded twice: the first copy wins
  }

  // ---------------------------------------------------------------------------
  // Configuration
  // ---------------------------------------------------------------------------

  const SCRIPT = document.currentScript || findOwnScript();
  const ORIGIN = new URL(SCRIPT ? SCRIPT.src : window.location.href, window.location.href).origin;
  const SOCKET_URL = ORIGIN.replace(/^http/, "ws") + "/chat/ws";
  // A receipt the bot asks for (input hint `file`) goes here; see bot/web/receipts.py.
  const UPLOAD_URL = ORIGIN + "/chat/receipt";
  const FILE_TYPES = "image/jpeg,image/png,application/pdf,.jpg,.jpeg,.png,.pdf";

  const TOKEN_KEY = "stadtwerk-chat-token";
  const LANGUAGES = ["de", "tr"];
  const SENDERS = ["customer", "bot", "agent", "system"];
  const MAX_LENGTH = 2000;
  // The keyboard a phone shows for what the bot's question expects (its `expects` hint).
  const INPUT_MODES = { digits: "numeric", date: "decimal", amount: "decimal" };
  const COUNTER_FROM = 1800; // show the character counter from here on
  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 10000;
  const TYPING_REPEAT_MS = 2000; // at most one "active" typing frame per 2 s
  const TYPING_IDLE_MS = 3000; // "active: false" after 3 s without input
  const TYPING_SHOWN_MAX_MS = 15000; // hide a typing indicator nobody switched off
  const NOTICE_MS = 7000;

  function findOwnScript() {
    const scripts = document.querySelectorAll('script[src*="widget.js"]');
    return scripts.length ? scripts[scripts.length - 1] : null;
  }

  // ---------------------------------------------------------------------------
  // UI strings (German and Turkish)
  // ---------------------------------------------------------------------------

  const STRINGS = {
    de: {
      title: "Kundenservice",
      openChat: "Chat mit dem Kundenservice öffnen",
      closeChat: "Chat schließen",
      endChat: "Chat beenden und Verlauf auf diesem Gerät löschen",
      endChatShort: "Beenden",
      unread: (n) => (n === 1 ? "1 neue Nachricht" : n + " neue Nachrichten"),
      languageGroup: "Sprache",
      log: "Chatverlauf",
      welcome: "Guten Tag! Wie können wir Ihnen helfen? Sie können uns auf Deutsch oder Türkisch schreiben.",
      inputLabel: "Ihre Nachricht",
      placeholder: "Nachricht schreiben …",
      formatDigits: (n) => (n ? "Bitte " + n + " Ziffern eingeben" : "Bitte Ziffern eingeben"),
      formatDate: "Datum als TT.MM.JJJJ",
      formatAmount: "Betrag in Euro, z. B. 85,50",
      formatFile: "Foto (JPEG, PNG) oder PDF",
      chooseFile: "Zahlungsnachweis hochladen",
      uploading: "Datei wird gesendet …",
      uploadFailed: "Die Datei konnte nicht gesendet werden. Bitte versuchen Sie es noch einmal.",
      yes: "Ja",
      no: "Nein",
      inputHint: "Enter sendet, Umschalt + Enter für eine neue Zeile.",
      counter: (n) => n + " / " + MAX_LENGTH + " Zeichen",
      send: "Nachricht senden",
      quickReplies: "Antwortvorschläge",
      you: "Sie",
      bot: "Digitaler Assistent",
      system: "Hinweis",
      agent: (name) => name + " · Kundenservice",
      someAgent: "Kundenservice",
      statusBot: "Digitaler Assistent – antwortet sofort",
      statusWaiting: "Einen Moment bitte – wir verbinden Sie mit einer Mitarbeiterin oder einem Mitarbeiter.",
      statusAgent: (name) => name + " aus dem Kundenservice ist für Sie da.",
      statusSomeAgent: "Eine Person aus dem Kundenservice ist für Sie da.",
      typingBot: "Der digitale Assistent schreibt …",
      typingAgent: (name) => name + " schreibt …",
      typingSomeAgent: "Der Kundenservice schreibt …",
      connecting: "Verbindung wird hergestellt …",
      reconnecting: "Verbindung unterbrochen – neuer Versuch läuft …",
      queued: "Ihre Nachrichten werden gesendet, sobald die Verbindung wieder steht.",
      pending: "wird gesendet …",
      dismiss: "Hinweis schließen",
    },
    tr: {
      title: "Müşteri Hizmetleri",
      openChat: "Müşteri hizmetleri sohbetini aç",
      closeChat: "Sohbeti kapat",
      endChat: "Sohbeti bitir ve bu cihazdaki geçmişi sil",
      endChatShort: "Bitir",
      unread: (n) => n + " yeni mesaj",
      languageGroup: "Dil",
      log: "Sohbet geçmişi",
      welcome: "Merhaba! Size nasıl yardımcı olabiliriz? Bize Türkçe veya Almanca yazabilirsiniz.",
      inputLabel: "Mesajınız",
      placeholder: "Mesajınızı yazın…",
      formatDigits: (n) => (n ? "Lütfen " + n + " rakam girin" : "Lütfen rakamları girin"),
      formatDate: "Tarih GG.AA.YYYY olarak",
      formatAmount: "Avro olarak tutar, ör. 85,50",
      formatFile: "Fotoğraf (JPEG, PNG) veya PDF",
      chooseFile: "Ödeme belgesi yükle",
      uploading: "Dosya gönderiliyor…",
      uploadFailed: "Dosya gönderilemedi. Lütfen tekrar deneyin.",
      yes: "Evet",
      no: "Hayır",
      inputHint: "Enter ile gönderin, yeni satır için Shift + Enter tuşlarına basın.",
      counter: (n) => n + " / " + MAX_LENGTH + " karakter",
      send: "Mesajı gönder",
      quickReplies: "Yanıt önerileri",
      you: "Siz",
      bot: "Dijital Asistan",
      system: "Bilgi",
      agent: (name) => name + " · Müşteri Hizmetleri",
      someAgent: "Müşteri Hizmetleri",
      statusBot: "Dijital asistan – hemen yanıt verir",
      statusWaiting: "Lütfen biraz bekleyin – sizi bir çalışanımıza bağlıyoruz.",
      statusAgent: (name) => "Müşteri hizmetlerinden " + name + " size yardımcı oluyor.",
      statusSomeAgent: "Bir müşteri hizmetleri çalışanımız size yardımcı oluyor.",
      typingBot: "Dijital asistan yazıyor…",
      typingAgent: (name) => name + " yazıyor…",
      typingSomeAgent: "Müşteri hizmetleri yazıyor…",
      connecting: "Bağlantı kuruluyor…",
      reconnecting: "Bağlantı kesildi – yeniden bağlanılıyor…",
      queued: "Mesajlarınız bağlantı yeniden kurulunca gönderilecek.",
      pending: "gönderiliyor…",
      dismiss: "Bildirimi kapat",
    },
  };

  // ---------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------

  const state = {
    language: initialLanguage(),
    chosenLanguage: null, // picked with the toggle while no session was open
    isOpen: false,
    socket: null,
    ready: false, // a `session` frame arrived on the current socket
    everReady: false,
    failedAttempts: 0,
    reconnectDelay: RECONNECT_MIN_MS,
    reconnectTimer: null,
    messages: [],
    outbox: [], // message frames typed while there was no session
    answeredId: null, // id of the bot message whose quick replies were used
    lastSent: "", // the last typed text, restored if the server refuses it
    mode: "bot", // who is in charge: bot / waiting / agent
    agentName: null,
    typing: null, // {from, agentName} while the bot or an agent is typing
    typingTimer: null,
    unread: 0,
    customerTyping: false,
    lastTypingFrameAt: 0,
    typingIdleTimer: null,
    noticeTimer: null,
    uploading: false, // a file is on its way to the server
  };

  function initialLanguage() {
    const fromScript = SCRIPT && SCRIPT.dataset.language;
    if (LANGUAGES.indexOf(fromScript) !== -1) {
      return fromScript;
    }
    return (document.documentElement.lang || "").toLowerCase().startsWith("tr") ? "tr" : "de";
  }

  function t(key) {
    return STRINGS[state.language][key];
  }

  // ---------------------------------------------------------------------------
  // Token storage (localStorage may be unavailable, e.g. in strict privacy modes)
  // ---------------------------------------------------------------------------

  function readToken() {
    try {
      return window.localStorage.getItem(TOKEN_KEY);
    } catch (error) {
      return null;
    }
  }

  function forgetToken() {
    try {
      window.localStorage.removeItem(TOKEN_KEY);
    } catch (error) {
      // nothing was stored
    }
  }

  function storeToken(token) {
    try {
      window.localStorage.setItem(TOKEN_KEY, token);
    } catch (error) {
      // Without storage the conversation lasts as long as the page.
    }
  }

  // ---------------------------------------------------------------------------
  // DOM helpers
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
    (children || []).forEach((child) => node.append(child));
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {
    chat: "M5 3h14a3 3 0 0 1 3 3v9a3 3 0 0 1-3 3h-8l-5 4v-4a3 3 0 0 1-3-3V6a3 3 0 0 1 3-3z",
    close: "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z",
    send: "M2 21 23 12 2 3v7l15 2-15 2z",
  };

  function icon(name) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "icon icon--" + name);
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  // ---------------------------------------------------------------------------
  // Styles (inside the shadow root, so the page's CSS cannot reach them)
  // ---------------------------------------------------------------------------

  const STYLES = `
:host { all: initial; }
[hidden] { display: none !important; }
.root {
  --blue: #0a4a8f; --blue-dark: #073566; --blue-light: #e8f0fa;
  --green: #1b6e3a; --green-light: #e9f5ed;
  --text: #1c2733; --muted: #4f5b67; --line: #d5dde6; --surface: #f4f7fb;
  --focus: #073566;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.45; color: var(--text);
}
.root *, .root *::before, .root *::after { box-sizing: border-box; }
button, textarea { font: inherit; color: inherit; }
button { cursor: pointer; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.sr-only {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
.icon { width: 24px; height: 24px; fill: currentColor; display: block; }

.launcher {
  position: fixed; right: 24px; bottom: 24px; z-index: 2147483000;
  width: 60px; height: 60px; border-radius: 50%; border: 0;
  background: var(--blue); color: #fff; display: grid; place-items: center;
  box-shadow: 0 6px 20px rgba(7, 53, 102, 0.35);
  transition: background-color 0.15s ease, transform 0.15s ease;
}
.launcher:hover { background: var(--blue-dark); transform: translateY(-1px); }
.launcher:focus-visible { outline-offset: 4px; }
.launcher .icon { width: 28px; height: 28px; }
.launcher .icon--close { display: none; }
.root.is-open .launcher .icon--chat { display: none; }
.root.is-open .launcher .icon--close { display: block; }
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px;
  padding: 0 6px; border-radius: 11px; border: 2px solid #fff;
  background: #b3261e; color: #fff; font-size: 12px; font-weight: 700;
  line-height: 18px; text-align: center;
}

.panel {
  position: fixed; right: 24px; bottom: 96px; z-index: 2147483000;
  width: 384px; height: min(640px, calc(100vh - 120px));
  display: flex; flex-direction: column; overflow: hidden;
  background: #fff; border-radius: 14px; border: 1px solid var(--line);
  box-shadow: 0 16px 48px rgba(16, 37, 66, 0.28);
}

.header {
  display: flex; align-items: flex-start; gap: 8px;
  padding: 14px 12px 12px 18px; background: var(--blue); color: #fff;
}
.header :focus-visible { outline-color: #fff; }
.heading { flex: 1; min-width: 0; }
.title { margin: 0; font-size: 17px; font-weight: 700; line-height: 1.3; }
.status { margin: 2px 0 0; font-size: 13px; color: #dce8f6; }
.languages { display: flex; gap: 4px; margin-top: 2px; }
.languages button {
  min-width: 40px; height: 32px; padding: 0 8px; border-radius: 6px;
  border: 1px solid rgba(255, 255, 255, 0.7); background: transparent;
  color: #fff; font-size: 13px; font-weight: 700; letter-spacing: 0.03em;
}
.languages button[aria-pressed="true"] { background: #fff; color: var(--blue-dark); border-color: #fff; }
.languages button:hover { background: rgba(255, 255, 255, 0.15); }
.languages button[aria-pressed="true"]:hover { background: #fff; }
.end {
  margin-top: 4px; padding: 4px 8px; border: 1px solid rgba(255, 255, 255, 0.6);
  border-radius: 6px; background: transparent; color: #fff; font: inherit; font-size: 13px;
  cursor: pointer;
}
.close {
  width: 36px; height: 32px; margin-top: 2px; border: 0; border-radius: 6px;
  background: transparent; color: #fff; display: grid; place-items: center;
}
.close:hover { background: rgba(255, 255, 255, 0.15); }

.connection, .notice {
  margin: 0; padding: 8px 16px; font-size: 13px; display: flex; gap: 8px; align-items: center;
}
.connection { background: #fdecea; color: #7f1d17; border-bottom: 1px solid #f3c5c0; }
.notice { background: #fff4d6; color: #4f3b00; border-top: 1px solid #f0dca0; }
.notice span { flex: 1; }
.notice button {
  border: 0; background: transparent; color: inherit; padding: 2px; border-radius: 4px;
  display: grid; place-items: center;
}
.notice .icon { width: 18px; height: 18px; }

.body { flex: 1; overflow-y: auto; padding: 16px 14px 8px; background: var(--surface); }
.welcome { margin: 4px 8px 16px; color: var(--muted); text-align: center; font-size: 14px; }
.log { display: flex; flex-direction: column; gap: 10px; }

.msg { max-width: 84%; display: flex; flex-direction: column; }
.msg__text {
  margin: 0; padding: 9px 13px; border-radius: 14px; white-space: pre-wrap;
  overflow-wrap: anywhere;
}
.msg__sender { font-size: 12px; font-weight: 700; margin: 0 0 3px 4px; }
.msg__meta { font-size: 11px; color: var(--muted); margin: 3px 6px 0; }
.msg--customer { align-self: flex-end; align-items: flex-end; }
.msg--customer .msg__text { background: var(--blue); color: #fff; border-bottom-right-radius: 4px; }
.msg--bot, .msg--agent { align-self: flex-start; align-items: flex-start; }
.msg--bot .msg__text { background: #fff; border: 1px solid var(--line); border-bottom-left-radius: 4px; }
.msg--agent .msg__text {
  background: var(--green-light); border: 1px solid #b9dcc5; border-left: 4px solid var(--green);
  border-bottom-left-radius: 4px;
}
.msg--agent .msg__sender { color: var(--green); }
.msg--system { align-self: center; align-items: center; max-width: 92%; text-align: center; }
.msg--system .msg__text { padding: 4px 10px; font-size: 13px; color: var(--muted); background: transparent; }
.msg--pending .msg__text { opacity: 0.75; }

.typing { display: flex; align-items: center; gap: 8px; margin: 10px 0 4px; }
.dots {
  display: inline-flex; gap: 4px; padding: 11px 13px; background: #fff;
  border: 1px solid var(--line); border-radius: 14px; border-bottom-left-radius: 4px;
}
.dots span {
  width: 7px; height: 7px; border-radius: 50%; background: var(--muted);
  animation: blink 1.2s infinite ease-in-out;
}
.dots span:nth-child(2) { animation-delay: 0.2s; }
.dots span:nth-child(3) { animation-delay: 0.4s; }
@keyframes blink { 0%, 80%, 100% { opacity: 0.25; } 40% { opacity: 1; } }

.quick-replies {
  display: flex; flex-wrap: wrap; gap: 6px; padding: 8px 14px;
  background: var(--surface); border-top: 1px solid var(--line);
}
.quick-replies button {
  padding: 6px 12px; border-radius: 16px; border: 1px solid var(--blue);
  background: #fff; color: var(--blue); font-size: 14px; text-align: left;
}
.quick-replies button:hover { background: var(--blue-light); }

.composer { border-top: 1px solid var(--line); padding: 10px 10px 12px 14px; background: #fff; }
.composer__row { display: flex; align-items: flex-end; gap: 8px; }
.composer textarea {
  flex: 1; min-height: 42px; max-height: 140px; resize: none; padding: 10px 12px;
  border: 1px solid #8593a3; border-radius: 10px; background: #fff; line-height: 1.4;
}
.composer textarea:focus-visible { outline-offset: 0; border-color: var(--focus); }
.send {
  width: 44px; height: 42px; border: 0; border-radius: 10px;
  background: var(--blue); color: #fff; display: grid; place-items: center;
}
.send:hover { background: var(--blue-dark); }
.counter { margin: 4px 0 0; font-size: 12px; color: var(--muted); text-align: right; }
.attach {
  margin: 0 0 6px; padding: 6px 12px; border-radius: 16px; border: 1px solid var(--blue);
  background: #fff; color: var(--blue); font-size: 14px;
}
.attach:hover { background: var(--blue-light); }
.attach[disabled] { opacity: 0.6; cursor: progress; }
.format { margin: 0 0 4px; font-size: 12px; color: var(--muted); }

@media (max-width: 479px) {
  .panel {
    inset: 0; width: 100%; height: 100%; border-radius: 0; border: 0;
  }
  .root.is-open .launcher { display: none; }
}
@media (prefers-reduced-motion: reduce) {
  .dots span { animation: none; opacity: 0.6; }
  .launcher { transition: none; }
}
`;

  // ---------------------------------------------------------------------------
  // Building the widget
  // ---------------------------------------------------------------------------

  const ui = {};

  function buildWidget() {
    const host = el("div", { id: "stadtwerk-chat" });
    const shadow = host.attachShadow({ mode: "open" });
    ui.root = el("div", { className: "root" });
    shadow.append(el("style", { text: STYLES }), ui.root);

    ui.launcher = el("button", {
      type: "button",
      className: "launcher",
      "data-testid": "chat-launcher",
      "aria-expanded": "false",
      "aria-controls": "stadtwerk-chat-panel",
    }, [icon("chat"), icon("close")]);
    ui.badge = el("span", { className: "badge", "aria-hidden": "true", hidden: "" });
    ui.launcher.append(ui.badge);

    ui.panel = el("section", {
      id: "stadtwerk-chat-panel",
      className: "panel",
      role: "dialog",
      "aria-labelledby": "stadtwerk-chat-title",
      "data-testid": "chat-panel",
      hidden: "",
    }, [buildHeader(), buildConnectionLine(), buildBody(), buildQuickReplies(), buildNotice(), buildComposer()]);

    ui.root.append(ui.panel, ui.launcher);
    document.body.append(host);
    bindEvents();
  }

  function buildHeader() {
    ui.title = el("h2", { id: "stadtwerk-chat-title", className: "title" });
    ui.status = el("p", { className: "status", "data-testid": "chat-status", "aria-live": "polite" });
    ui.langDe = el("button", { type: "button", lang: "de", "aria-label": "Deutsch", "data-testid": "chat-lang-de", text: "DE" });
    ui.langTr = el("button", { type: "button", lang: "tr", "aria-label": "Türkçe", "data-testid": "chat-lang-tr", text: "TR" });
    ui.languages = el("div", { className: "languages", role: "group" }, [ui.langDe, ui.langTr]);
    ui.end = el("button", { type: "button", className: "end", "data-testid": "chat-end" });
    ui.close = el("button", { type: "button", className: "close" }, [icon("close")]);
    return el("header", { className: "header" }, [
      el("div", { className: "heading" }, [ui.title, ui.status]),
      ui.languages,
      ui.end,
      ui.close,
    ]);
  }

  function buildConnectionLine() {
    ui.connection = el("p", { className: "connection", role: "status", "data-testid": "chat-connection", hidden: "" });
    return ui.connection;
  }

  function buildBody() {
    ui.welcome = el("p", { className: "welcome" });
    ui.log = el("div", { className: "log", role: "log", "aria-live": "polite", "data-testid": "chat-log" });
    ui.typingLabel = el("span", { className: "sr-only" });
    ui.typing = el("div", { className: "typing", role: "status", "data-testid": "chat-typing", hidden: "" }, [
      el("span", { className: "dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
      ui.typingLabel,
    ]);
    ui.body = el("div", { className: "body" }, [ui.welcome, ui.log, ui.typing]);
    return ui.body;
  }

  function buildQuickReplies() {
    ui.quickReplies = el("div", { className: "quick-replies", role: "group", hidden: "" });
    return ui.quickReplies;
  }

  function buildNotice() {
    ui.noticeText = el("span");
    ui.noticeDismiss = el("button", { type: "button" }, [icon("close")]);
    ui.notice = el("p", { className: "notice", role: "status", hidden: "" }, [ui.noticeText, ui.noticeDismiss]);
    return ui.notice;
  }

  function buildComposer() {
    ui.inputLabel = el("label", { for: "stadtwerk-chat-input", className: "sr-only" });
    ui.input = el("textarea", {
      id: "stadtwerk-chat-input",
      rows: "1",
      maxlength: String(MAX_LENGTH),
      autocomplete: "off",
      "aria-describedby": "stadtwerk-chat-format stadtwerk-chat-hint stadtwerk-chat-counter",
      "data-testid": "chat-input",
    });
    ui.send = el("button", { type: "submit", className: "send", "data-testid": "chat-send" }, [icon("send")]);
    ui.hint = el("span", { id: "stadtwerk-chat-hint", className: "sr-only" });
    ui.counter = el("p", { id: "stadtwerk-chat-counter", className: "counter", hidden: "" });
    ui.format = el("p", {
      id: "stadtwerk-chat-format",
      className: "format",
      hidden: "",
      "data-testid": "chat-input-format",
    });
    ui.fileInput = el("input", { type: "file", accept: FILE_TYPES, hidden: "", "data-testid": "chat-file-input" });
    ui.fileButton = el("button", { type: "button", className: "attach", hidden: "", "data-testid": "chat-file" });
    ui.composer = el("form", { className: "composer", novalidate: "" }, [
      ui.inputLabel,
      ui.format,
      ui.fileButton,
      ui.fileInput,
      el("div", { className: "composer__row" }, [ui.input, ui.send]),
      ui.hint,
      ui.counter,
    ]);
    return ui.composer;
  }

  function bindEvents() {
    ui.launcher.addEventListener("click", () => (state.isOpen ? closePanel(true) : openPanel()));
    ui.close.addEventListener("click", () => closePanel(true));
    ui.end.addEventListener("click", endChat);
    ui.langDe.addEventListener("click", () => setLanguage("de"));
    ui.langTr.addEventListener("click", () => setLanguage("tr"));
    ui.noticeDismiss.addEventListener("click", hideNotice);
    ui.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && state.isOpen) {
        event.stopPropagation();
        closePanel(true);
      }
    });
    ui.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      submitInput();
    });
    ui.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submitInput();
      }
    });
    ui.input.addEventListener("input", onInput);
    ui.fileButton.addEventListener("click", () => ui.fileInput.click());
    ui.fileInput.addEventListener("change", () => {
      const file = ui.fileInput.files && ui.fileInput.files[0];
      ui.fileInput.value = "";
      if (file) {
        uploadFile(file);
      }
    });
    window.addEventListener("online", reconnectNow);
  }

  // ---------------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------------

  function renderAll() {
    renderTexts();
    renderLog();
    renderQuickReplies();
    renderStatus();
    renderTyping();
    renderConnection();
    renderLauncher();
    renderCounter();
  }

  // Every fixed string and label, in the current language.
  function renderTexts() {
    ui.root.setAttribute("lang", state.language);
    ui.title.textContent = t("title");
    ui.languages.setAttribute("aria-label", t("languageGroup"));
    ui.langDe.setAttribute("aria-pressed", String(state.language === "de"));
    ui.langTr.setAttribute("aria-pressed", String(state.language === "tr"));
    ui.close.setAttribute("aria-label", t("closeChat"));
    ui.end.textContent = t("endChatShort");
    ui.end.setAttribute("aria-label", t("endChat"));
    ui.welcome.textContent = t("welcome");
    ui.log.setAttribute("aria-label", t("log"));
    ui.quickReplies.setAttribute("aria-label", t("quickReplies"));
    ui.noticeDismiss.setAttribute("aria-label", t("dismiss"));
    ui.inputLabel.textContent = t("inputLabel");
    ui.input.setAttribute("placeholder", t("placeholder"));
    renderInputMode();
    ui.hint.textContent = t("inputHint");
    ui.send.setAttribute("aria-label", t("send"));
  }

  function renderLauncher() {
    ui.root.classList.toggle("is-open", state.isOpen);
    ui.launcher.setAttribute("aria-expanded", String(state.isOpen));
    let label = state.isOpen ? t("closeChat") : t("openChat");
    if (state.unread > 0 && !state.isOpen) {
      label += " – " + t("unread")(state.unread);
    }
    ui.launcher.setAttribute("aria-label", label);
    ui.badge.textContent = String(state.unread);
    ui.badge.hidden = state.isOpen || state.unread === 0;
  }

  // Rebuilds the whole log: on a new session and on a language switch only,
  // single messages are added with appendToLog so screen readers hear just them.
  function renderLog() {
    const nodes = state.messages.map((message) => messageNode(message, false));
    state.outbox.forEach((frame) => nodes.push(messageNode({ from: "customer", text: frame.text }, true)));
    ui.log.replaceChildren(...nodes);
    ui.welcome.hidden = nodes.length > 0;
    scrollToEnd();
  }

  function appendToLog(node) {
    ui.log.append(node);
    ui.welcome.hidden = true;
    scrollToEnd();
  }

  function messageNode(message, pending) {
    const from = SENDERS.indexOf(message.from) !== -1 ? message.from : "system";
    const node = el("div", {
      className: "msg msg--" + from + (pending ? " msg--pending" : ""),
      "data-testid": "chat-message",
      "data-from": from,
    });
    // Agents are named visibly; the other senders only for screen readers.
    node.append(el("span", {
      className: from === "agent" ? "msg__sender" : "sr-only",
      text: senderLabel(from, message.agent_name),
    }));
    node.append(el("p", { className: "msg__text", text: String(message.text || "") }));
    const meta = pending ? t("pending") : formatTime(message.at);
    if (meta && from !== "system") {
      node.append(el("span", { className: "msg__meta", text: meta }));
    }
    if (pending) {
      node.setAttribute("data-pending", "true");
    } else if (message.id !== undefined && message.id !== null) {
      node.setAttribute("data-message-id", String(message.id));
    }
    return node;
  }

  function senderLabel(from, agentName) {
    if (from === "agent") {
      return agentName ? t("agent")(agentName) : t("someAgent");
    }
    return { customer: t("you"), bot: t("bot"), system: t("system") }[from];
  }

  function formatTime(iso) {
    const date = iso ? new Date(iso) : null;
    if (!date || isNaN(date.getTime())) {
      return "";
    }
    const locale = state.language === "tr" ? "tr-TR" : "de-DE";
    return date.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  }

  function scrollToEnd() {
    ui.body.scrollTop = ui.body.scrollHeight;
  }

  // The bot's latest question, if the latest message is one and not answered yet.
  function openQuestion() {
    const last = state.messages[state.messages.length - 1];
    return last && last.from === "bot" && last.id !== state.answeredId ? last : null;
  }

  function expectsOf(message) {
    const expects = message && message.expects;
    return expects && typeof expects.kind === "string" ? expects : null;
  }

  // The input offers what the question expects: a numeric keyboard for digits,
  // dates and amounts on phones, and a line above it that says the format.
  function renderInputMode() {
    const expects = expectsOf(openQuestion());
    const kind = expects ? expects.kind : "text";
    ui.input.setAttribute("inputmode", INPUT_MODES[kind] || "text");
    ui.input.setAttribute("data-expects", kind);
    let format = "";
    if (kind === "digits") {
      format = t("formatDigits")(Number.isInteger(expects.length) ? expects.length : 0);
    } else if (kind === "date") {
      format = t("formatDate");
    } else if (kind === "amount") {
      format = t("formatAmount");
    } else if (kind === "file") {
      format = t("formatFile");
    }
    ui.format.textContent = format;
    ui.format.hidden = !format;
    // A question that asks for a file (a receipt) offers the file button.
    ui.fileButton.hidden = kind !== "file";
    ui.fileButton.textContent = state.uploading ? t("uploading") : t("chooseFile");
    ui.fileButton.disabled = state.uploading;
  }

  // The file goes to the server as it is; the server checks what it is and
  // answers in the chat (stored) or with a notice (refused, nothing stored).
  async function uploadFile(file) {
    const token = readToken();
    if (!token || state.uploading) {
      return;
    }
    state.uploading = true;
    renderInputMode();
    const query = "?filename=" + encodeURIComponent(file.name || "") + "&language=" + state.language;
    try {
      const response = await fetch(UPLOAD_URL + query, {
        method: "POST",
        headers: { Authorization: "Bearer " + token },
        body: file,
      });
      const answer = await response.json().catch(() => null);
      if (response.ok) {
        hideNotice(); // the bot confirms in the chat
      } else {
        showNotice(answer && typeof answer.text === "string" ? answer.text : t("uploadFailed"));
      }
    } catch (error) {
      showNotice(t("uploadFailed"));
    } finally {
      state.uploading = false;
      renderInputMode();
    }
  }

  // Quick replies belong to the latest message if it came from the bot: its
  // buttons, or "yes" and "no" for a yes/no question (sent as plain text).
  function renderQuickReplies() {
    const question = openQuestion();
    let buttons = question && Array.isArray(question.buttons)
      ? question.buttons.filter((button) => button && button.title)
      : [];
    const expects = expectsOf(question);
    if (!buttons.length && expects && expects.kind === "yes_no") {
      buttons = [{ title: t("yes") }, { title: t("no") }];
    }
    ui.quickReplies.replaceChildren(...buttons.map((button) => {
      const node = el("button", { type: "button", "data-testid": "chat-quick-reply", text: String(button.title) });
      node.addEventListener("click", () => {
        state.answeredId = question.id;
        state.lastSent = "";
        sendMessage(String(button.title), button.payload);
        ui.input.focus();
      });
      return node;
    }));
    ui.quickReplies.hidden = buttons.length === 0;
    renderInputMode();
  }

  function renderStatus() {
    let text = t("statusBot");
    if (state.mode === "waiting") {
      text = t("statusWaiting");
    } else if (state.mode === "agent") {
      text = state.agentName ? t("statusAgent")(state.agentName) : t("statusSomeAgent");
    }
    ui.status.textContent = text;
  }

  function renderTyping() {
    const typing = state.typing;
    ui.typing.hidden = !typing;
    if (!typing) {
      ui.typingLabel.textContent = "";
      return;
    }
    if (typing.from === "agent") {
      ui.typingLabel.textContent = typing.agentName ? t("typingAgent")(typing.agentName) : t("typingSomeAgent");
    } else {
      ui.typingLabel.textContent = t("typingBot");
    }
    scrollToEnd();
  }

  // Shown while there is no session: after a drop, or when the first attempt failed.
  function renderConnection() {
    const show = !state.ready && (state.everReady || state.failedAttempts > 0);
    ui.connection.hidden = !show;
    if (show) {
      const text = state.everReady ? t("reconnecting") : t("connecting");
      ui.connection.textContent = state.outbox.length ? text + " " + t("queued") : text;
    }
  }

  function renderCounter() {
    const length = ui.input.value.length;
    ui.counter.hidden = length < COUNTER_FROM;
    ui.counter.textContent = t("counter")(length);
  }

  function showNotice(text) {
    ui.noticeText.textContent = text;
    ui.notice.hidden = false;
    clearTimeout(state.noticeTimer);
    state.noticeTimer = setTimeout(hideNotice, NOTICE_MS);
  }

  function hideNotice() {
    clearTimeout(state.noticeTimer);
    ui.notice.hidden = true;
    ui.noticeText.textContent = "";
  }

  // ---------------------------------------------------------------------------
  // Opening, closing, language
  // ---------------------------------------------------------------------------

  function openPanel() {
    if (!state.isOpen) {
      state.isOpen = true;
      state.unread = 0;
      ui.panel.hidden = false;
      renderLauncher();
      scrollToEnd();
      ensureConnected();
    }
    ui.input.focus();
  }

  function closePanel(returnFocus) {
    if (!state.isOpen) {
      return;
    }
    state.isOpen = false;
    ui.panel.hidden = true;
    renderLauncher();
    if (returnFocus) {
      ui.launcher.focus();
    }
  }

  function setLanguage(language) {
    if (LANGUAGES.indexOf(language) === -1 || language === state.language) {
      return;
    }
    state.language = language;
    if (state.ready) {
      sendFrame({ type: "language", language: language });
    } else {
      state.chosenLanguage = language; // told to the server once a session is open
    }
    renderAll();
  }

  // ---------------------------------------------------------------------------
  // Composing and sending
  // ---------------------------------------------------------------------------

  function submitInput() {
    const text = ui.input.value.trim();
    if (!text) {
      return;
    }
    state.lastSent = text;
    sendMessage(text);
    ui.input.value = "";
    autosize();
    renderCounter();
  }

  // Sends now, or keeps the message until the next session opens.
  function sendMessage(text, payload) {
    const frame = { type: "message", text: text };
    if (payload !== undefined && payload !== null) {
      frame.payload = payload;
    }
    stopTyping();
    if (state.ready) {
      sendFrame(frame);
    } else {
      state.outbox.push(frame);
      ensureConnected();
      appendToLog(messageNode({ from: "customer", text: text }, true));
      renderConnection();
    }
    renderQuickReplies();
  }

  function onInput() {
    autosize();
    renderCounter();
    if (!ui.input.value.trim()) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (state.ready && now - state.lastTypingFrameAt >= TYPING_REPEAT_MS) {
      sendFrame({ type: "typing", active: true });
      state.customerTyping = true;
      state.lastTypingFrameAt = now;
    }
    clearTimeout(state.typingIdleTimer);
    state.typingIdleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  // "active: false" goes out at once, so the agent never sees a stale indicator.
  function stopTyping() {
    clearTimeout(state.typingIdleTimer);
    if (state.customerTyping && state.ready) {
      sendFrame({ type: "typing", active: false });
      state.lastTypingFrameAt = Date.now();
    }
    state.customerTyping = false;
  }

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 140) + "px";
  }

  // ---------------------------------------------------------------------------
  // Connection
  // ---------------------------------------------------------------------------

  // On a shared computer: the server forgets the token, this browser forgets the
  // conversation; the next visitor who opens the chat starts a new one.
  function endChat() {
    sendFrame({ type: "end" });
    forgetToken();
    const socket = state.socket;
    state.socket = null;
    state.ready = false;
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (socket) {
      socket.close();
    }
    Object.assign(state, {
      messages: [], outbox: [], answeredId: null, mode: "bot", agentName: null, typing: null, unread: 0,
    });
    renderAll();
    closePanel(true);
  }

  function ensureConnected() {
    if (!state.socket && !state.reconnectTimer) {
      connect();
    }
  }

  function connect() {
    state.reconnectTimer = null;
    let socket;
    try {
      socket = new WebSocket(SOCKET_URL);
    } catch (error) {
      onSocketClosed();
      return;
    }
    state.socket = socket;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "hello", token: readToken(), language: state.language }));
    });
    socket.addEventListener("message", (event) => {
      if (state.socket === socket) {
        handleFrame(event.data);
      }
    });
    socket.addEventListener("close", () => {
      if (state.socket === socket) {
        onSocketClosed();
      }
    });
  }

  function onSocketClosed() {
    state.socket = null;
    if (!state.ready) {
      state.failedAttempts += 1;
    }
    state.ready = false;
    state.customerTyping = false;
    setTyping(null);
    scheduleReconnect();
    renderConnection();
  }

  function scheduleReconnect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(connect, state.reconnectDelay);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, RECONNECT_MAX_MS);
  }

  // Back online: skip the rest of the back-off.
  function reconnectNow() {
    if (state.reconnectTimer) {
      clearTimeout(state.reconnectTimer);
      state.reconnectDelay = RECONNECT_MIN_MS;
      connect();
    }
  }

  function sendFrame(frame) {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify(frame));
    }
  }

  // ---------------------------------------------------------------------------
  // Frames from the server
  // ---------------------------------------------------------------------------

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
    const handler = {
      session: onSession,
      message: onMessage,
      typing: onTyping,
      state: onState,
      notice: onNotice,
    }[frame.type];
    if (handler) {
      handler(frame);
    }
  }

  function onSession(frame) {
    if (typeof frame.token === "string" && frame.token) {
      storeToken(frame.token);
    }
    if (state.chosenLanguage && state.chosenLanguage !== frame.language) {
      sendFrame({ type: "language", language: state.chosenLanguage });
    } else if (LANGUAGES.indexOf(frame.language) !== -1) {
      state.language = frame.language;
    }
    state.chosenLanguage = null;
    state.messages = Array.isArray(frame.history) ? frame.history.slice() : [];
    applyState(frame);
    state.ready = true;
    state.everReady = true;
    state.failedAttempts = 0;
    state.reconnectDelay = RECONNECT_MIN_MS;
    state.typing = null;
    flushOutbox();
    renderAll();
  }

  function flushOutbox() {
    const frames = state.outbox;
    state.outbox = [];
    frames.forEach(sendFrame);
  }

  function onMessage(frame) {
    const index = state.messages.findIndex((message) => frame.id !== undefined && message.id === frame.id);
    if (index === -1) {
      state.messages.push(frame);
      appendToLog(messageNode(frame, false));
    } else {
      state.messages[index] = frame;
      renderLog();
    }
    if (state.typing && state.typing.from === frame.from) {
      setTyping(null);
    }
    if (!state.isOpen && frame.from !== "customer" && index === -1) {
      state.unread += 1;
      renderLauncher();
    }
    renderQuickReplies();
  }

  function onTyping(frame) {
    setTyping(frame.active ? { from: frame.from, agentName: frame.agent_name || null } : null);
  }

  function setTyping(typing) {
    clearTimeout(state.typingTimer);
    state.typing = typing;
    if (typing) {
      state.typingTimer = setTimeout(() => setTyping(null), TYPING_SHOWN_MAX_MS);
    }
    renderTyping();
  }

  function onState(frame) {
    applyState(frame);
    renderStatus();
  }

  function applyState(frame) {
    if (["bot", "waiting", "agent"].indexOf(frame.state) !== -1) {
      state.mode = frame.state;
    }
    state.agentName = frame.agent_name || null;
  }

  function onNotice(frame) {
    if (typeof frame.text === "string" && frame.text) {
      showNotice(frame.text);
    }
    // A refused message goes back into the empty input, so it is not lost.
    if ((frame.code === "rate_limited" || frame.code === "too_long") && !ui.input.value && state.lastSent) {
      ui.input.value = state.lastSent.slice(0, MAX_LENGTH);
      state.lastSent = "";
      autosize();
      renderCounter();
    }
  }

  // ---------------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------------

  function start() {
    buildWidget();
    renderAll();
    // A returning customer is connected at once, so replies arrive while the panel is closed.
    if (readToken()) {
      connect();
    }
  }

  // Calls made before the widget is built (a script without `defer`) are ignored.
  function whenBuilt(action) {
    return (argument) => {
      if (ui.root) {
        action(argument);
      }
    };
  }

  window.StadtwerkChat = {
    open: whenBuilt(openPanel),
    close: whenBuilt(() => closePanel(false)),
    setLanguage: whenBuilt(setLanguage),
  };

  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
