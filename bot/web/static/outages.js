/*
 * Known outages (bot/web/service_desk.py): the current ones, a form to add or
 * change one, and marking one resolved. Times are the utility's local time.
 * Server text is only set with textContent.
 */
(function () {
  "use strict";

  const CSRF_TOKEN = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  const COMMODITIES = {
    electricity: "Strom",
    gas: "Gas",
    water: "Wasser",
    district_heating: "Fernwärme",
    street_light: "Straßenbeleuchtung",
  };
  const FIELDS = ["postcode", "commodity", "started-at", "expected-end", "note-de", "note-tr"];
  const $ = (id) => document.getElementById(id);
  let outages = [];

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

  function post(path, body) {
    return call(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF_TOKEN },
      body: JSON.stringify(body || {}),
    });
  }

  function local(value) {
    if (!value) return "offen";
    const [day, time] = value.split("T");
    const [year, month, date] = day.split("-");
    return `${date}.${month}.${year} ${time} Uhr`;
  }

  async function load() {
    try {
      outages = await call("/agent/api/outages");
      showError("");
    } catch (error) {
      showError(error.message);
      return;
    }
    $("outage-rows").replaceChildren(
      ...outages.map((outage) => {
        const edit = el("button", { type: "button", className: "button button-secondary", text: "Bearbeiten" });
        edit.addEventListener("click", () => fill(outage));
        const resolve = el("button", { type: "button", className: "button button-success", text: "Behoben", "data-testid": "resolve-outage" });
        resolve.addEventListener("click", () => resolved(outage.id));
        return el("tr", { "data-outage": String(outage.id) }, [
          el("td", { text: outage.postcode }),
          el("td", { text: COMMODITIES[outage.commodity] || outage.commodity }),
          el("td", { text: local(outage.started_at) }),
          el("td", { text: local(outage.expected_end) }),
          el("td", { text: [outage.note_de, outage.note_tr].filter(Boolean).join(" / ") || "–" }),
          el("td", {}, [edit, " ", resolve]),
        ]);
      })
    );
    $("outages-empty").hidden = outages.length > 0;
  }

  function fill(outage) {
    $("outage-id").value = String(outage.id);
    $("postcode").value = outage.postcode;
    $("commodity").value = outage.commodity;
    $("started-at").value = outage.started_at || "";
    $("expected-end").value = outage.expected_end || "";
    $("note-de").value = outage.note_de;
    $("note-tr").value = outage.note_tr;
    $("form-title").textContent = `Störung ${outage.postcode} bearbeiten`;
    $("new-outage").hidden = false;
    $("postcode").focus();
  }

  function reset() {
    $("outage-form").reset();
    $("outage-id").value = "";
    $("form-title").textContent = "Neue Störung";
    $("new-outage").hidden = true;
  }

  async function save(event) {
    event.preventDefault();
    const body = {
      postcode: $("postcode").value,
      commodity: $("commodity").value,
      started_at: $("started-at").value || null,
      expected_end: $("expected-end").value || null,
      note_de: $("note-de").value,
      note_tr: $("note-tr").value,
    };
    const id = $("outage-id").value;
    try {
      await post(id ? `/agent/api/outages/${encodeURIComponent(id)}` : "/agent/api/outages", body);
    } catch (error) {
      showError(error.message);
      return;
    }
    reset();
    await load();
  }

  async function resolved(id) {
    try {
      await post(`/agent/api/outages/${encodeURIComponent(String(id))}/resolve`);
    } catch (error) {
      showError(error.message);
      return;
    }
    await load();
  }

  FIELDS.forEach((field) => $(field).addEventListener("input", () => showError("")));
  $("outage-form").addEventListener("submit", save);
  $("new-outage").addEventListener("click", reset);
  load();
})();
