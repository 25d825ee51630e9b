/*
 * Service cases (bot/web/service_desk.py): the list by type and status, one case
 * with its structured data, and closing it. Server text is only set with textContent.
 */
(function () {
  "use strict";

  const CSRF_TOKEN = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  const KINDS = {
    fault: "Störung",
    complaint: "Beschwerde",
    appointment: "Termin",
    move: "Umzug",
    reconnection: "Entsperrung",
    supply_block: "Sperre droht",
    tariff_switch: "Tarifwechsel",
  };
  const CHANNELS = { web: "Web", voice: "Telefon", rest: "API" };
  const LABELS = {
    hazard: "Gefahr",
    commodity: "Sparte",
    postcode: "Postleitzahl",
    address: "Adresse",
    description: "Beschreibung",
    callback_number: "Rückrufnummer",
    callback_within_hours: "Rückruf binnen (Stunden)",
    checks: "Vorab geprüft",
    scope: "Betroffen",
    checked: "Sicherung/Haupthahn geprüft",
    contracts: "Verträge",
    open_balance: "Offener Betrag",
    receipt_received: "Nachweis erhalten",
    receipts: "Nachweise",
    channel: "Kanal",
    category: "Kategorie",
    text: "Beschwerde",
    contact: "Kontakt",
    angry: "Verärgert",
    anger: "Anzeichen",
    contract_number: "Vertrag",
    from_tariff: "Bisheriger Tarif",
    to_tariff: "Neuer Tarif",
    to_tariff_code: "Tarifschlüssel",
    minimum_term_months: "Mindestlaufzeit (Monate)",
    switch_on: "Wechsel zum",
    yearly_consumption_kwh: "Jahresverbrauch (kWh)",
    estimated_yearly_cost: "Geschätzte Jahreskosten (€)",
    estimated_yearly_saving: "Geschätzte Ersparnis (€)",
    place: "Ort",
    purpose: "Anlass",
    starts_at: "Termin",
    minutes: "Dauer (Minuten)",
    name: "Name",
    status: "Stand",
  };
  const CATEGORIES = {
    billing: "Rechnung",
    service: "Erreichbarkeit/Service",
    staff: "Mitarbeitende",
    technical: "Techniker/Termin",
    online: "Website/App",
    other: "Sonstiges",
  };
  const VALUES = {
    gas_smell: "Gasgeruch",
    electricity: "Strom",
    gas: "Gas",
    water: "Wasser",
    district_heating: "Fernwärme",
    street_light: "Straßenbeleuchtung",
    home: "nur der Haushalt",
    area: "auch Nachbarn",
    unknown: "unbekannt",
    words: "Wortwahl",
    caps: "Großbuchstaben",
    exclamations: "Ausrufezeichen",
    repeated: "wiederholte Beschwerde",
    advice: "Energieberatung",
    meter: "Zählerwechsel",
    booked: "gebucht",
    cancelled: "abgesagt",
    ...CATEGORIES,
    true: "ja",
    false: "nein",
  };

  const PLACES = { centre: "Kundenzentrum", home: "beim Kunden zu Hause" };

  const state = { type: "", status: "open", cases: [], selected: null };
  const $ = (id) => document.getElementById(id);

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value);
    });
    (children || []).filter((c) => c !== null && c !== undefined).forEach((c) => node.append(c));
    return node;
  }

  function showError(message) {
    const box = $("desk-error");
    box.textContent = message;
    box.hidden = !message;
  }

  async function call(path, options) {
    const response = await fetch(path, { credentials: "same-origin", ...(options || {}) });
    if (response.status === 401) {
      window.location.assign("/agent/login");
      throw new Error("logged out");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(typeof body.detail === "string" ? body.detail : "Das hat nicht geklappt.");
    return body;
  }

  function when(iso) {
    return new Date(iso).toLocaleString("de-DE", { dateStyle: "short", timeStyle: "short" });
  }

  function readable(value) {
    if (value === null || value === undefined || value === "") return "–";
    if (Array.isArray(value)) return value.map(readable).join("; ");
    if (typeof value === "object") {
      if (Object.keys(value).length === 0) return "–";
      return Object.entries(value).map(([k, v]) => `${LABELS[k] || k}: ${readable(v)}`).join(", ");
    }
    return VALUES[String(value)] || String(value);
  }

  function kindText(item) {
    const kind = KINDS[item.kind] || item.kind;
    const category = CATEGORIES[(item.data || {}).category];
    return category ? `${kind} · ${category}` : kind;
  }

  async function load() {
    const query = new URLSearchParams({ status: state.status });
    if (state.type) query.set("type", state.type);
    try {
      state.cases = await call("/agent/api/service-cases?" + query.toString());
      showError("");
    } catch (error) {
      showError(error.message);
      return;
    }
    renderList();
  }

  function renderList() {
    const rows = $("case-rows");
    rows.replaceChildren(
      ...state.cases.map((item) => {
        const name = el("td", {}, [el("strong", { text: item.reference })]);
        if (item.priority) name.append(el("span", { className: "badge", text: "Vorrang" }));
        const row = el("tr", { className: "selectable", tabindex: "0", "data-reference": item.reference }, [
          name,
          el("td", { text: kindText(item) }),
          el("td", { text: when(item.created_at) }),
          el("td", { text: CHANNELS[item.channel] || item.channel }),
          el("td", { text: item.customer_number || "–" }),
        ]);
        row.setAttribute("aria-selected", String(item.reference === state.selected));
        row.addEventListener("click", () => select(item.reference));
        row.addEventListener("keydown", (event) => { if (event.key === "Enter") select(item.reference); });
        return row;
      })
    );
    $("cases-empty").hidden = state.cases.length > 0;
  }

  async function select(reference) {
    let item;
    try {
      item = await call("/agent/api/service-cases/" + encodeURIComponent(reference));
    } catch (error) {
      showError(error.message);
      return;
    }
    state.selected = reference;
    renderList();
    $("case-detail").hidden = false;
    $("detail-title").textContent = `${kindText(item)} ${item.reference}`;
    const meta = [
      item.status === "open" ? "offen" : "erledigt",
      CHANNELS[item.channel] || item.channel,
      item.language.toUpperCase(),
      when(item.created_at),
      item.handoff_case_id ? `Übergabe ${item.handoff_case_id}` : null,
    ];
    $("detail-meta").textContent = meta.filter(Boolean).join(" · ");
    const facts = [];
    if (item.customer_number) facts.push(el("dt", { text: "Kundennummer" }), el("dd", { text: item.customer_number }));
    Object.entries(item.data).forEach(([key, value]) => {
      let shown = readable(value);
      if (key === "starts_at" && value) shown = when(value);
      if (key === "place") shown = PLACES[value] || shown;
      facts.push(el("dt", { text: LABELS[key] || key }), el("dd", { text: shown }));
    });
    $("detail-facts").replaceChildren(...facts);
    $("close-form").hidden = item.status !== "open";
  }

  async function closeSelected(event) {
    event.preventDefault();
    if (!state.selected) return;
    try {
      await call(`/agent/api/service-cases/${encodeURIComponent(state.selected)}/close`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF_TOKEN },
        body: JSON.stringify({ note: $("close-note").value }),
      });
    } catch (error) {
      showError(error.message);
      return;
    }
    $("close-note").value = "";
    await select(state.selected);
    await load();
  }

  document.querySelectorAll("#type-filter .chip").forEach((chip) => {
    chip.addEventListener("click", () => {
      state.type = chip.dataset.type;
      document.querySelectorAll("#type-filter .chip").forEach((other) => {
        other.setAttribute("aria-pressed", String(other === chip));
      });
      load();
    });
  });
  $("status-filter").addEventListener("change", (event) => {
    state.status = event.target.value;
    load();
  });
  $("close-form").addEventListener("submit", closeSelected);
  load();
})();
