// What the desk and the wall share: the API client (Bearer token, JSON,
// problem+json errors), the sign-in kept in sessionStorage, and formats.
(function () {
  "use strict";

  // A problem is what the API answers when it refuses (RFC 9457); the pages
  // show title, detail and each field's detail in words.
  class Problem extends Error {
    constructor(p, status) {
      super(p.detail || p.title || "HTTP " + status);
      this.title = p.title || "HTTP " + status;
      this.detail = p.detail || "";
      this.status = p.status || status;
      this.errors = Array.isArray(p.errors) ? p.errors : [];
      this.processId = p.process_id || "";
      this.requestId = p.request_id || "";
    }
  }

  function idempotencyKey() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return "desk-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // api sends one request as the signed-in token. A body is sent as JSON; a
  // POST carries a fresh Idempotency-Key, so a retried click does it once.
  async function api(token, method, path, body) {
    const headers = { Authorization: "Bearer " + token, Accept: "application/json" };
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (method === "POST") headers["Idempotency-Key"] = idempotencyKey();
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      throw new Problem({ title: "casehub cannot be reached", detail: String(e.message || e) }, 0);
    }
    const text = await resp.text();
    let json = null;
    if (text) {
      try { json = JSON.parse(text); } catch (e) { json = null; }
    }
    if (!resp.ok) throw new Problem(json || { title: resp.statusText || "HTTP " + resp.status }, resp.status);
    return json;
  }

  // The sign-in of this tab: kept until the tab closes, never in
  // localStorage.
  const signIn = {
    load(key) {
      try { return JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) { return null; }
    },
    save(key, v) { sessionStorage.setItem(key, JSON.stringify(v)); },
    clear(key) { sessionStorage.removeItem(key); },
  };

  // duration says how long: 42s, 3m 05s, 1h 02m.
  function duration(ms) {
    if (!isFinite(ms)) return "";
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + "s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + "m " + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(m / 60) + "h " + String(m % 60).padStart(2, "0") + "m";
  }

  function since(iso, now) {
    if (!iso) return "";
    return duration(now - Date.parse(iso));
  }

  function until(iso, now) {
    if (!iso) return "";
    return duration(Date.parse(iso) - now);
  }

  function clock(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
  }

  const words = {
    available: "Available", on_break: "On break", offline: "Offline", wrap_up: "Wrap-up", busy: "Busy",
    new: "New", pending_acceptance: "Pending acceptance", work_in_progress: "Work in progress", closed_complete: "Closed complete",
    voice: "Call", chat: "Chat", phone: "Call", email: "Email", walk_in: "Walk-in", self_service: "Self-service",
    customer_first: "customer first", agent_first: "agent first",
    waiting: "Waiting", offered: "Offered", assigned: "Assigned", done: "Done",
    scheduled: "Scheduled", queued: "Queued", in_progress: "In progress", completed: "Completed", failed: "Failed",
    cancelled: "Cancelled", expired: "Expired", incident: "Incident", request: "Request", case: "Case",
  };
  function word(v) { return words[v] || (v ? String(v).replaceAll("_", " ") : ""); }

  window.casehub = { api, Problem, signIn, duration, since, until, clock, word };
})();
