// A Server-Sent Events reader over fetch. The browser's EventSource cannot
// send an Authorization header, and casehub's streams (docs/events.md) take
// the same Bearer token as the rest of the API, so the pages read the stream
// themselves: the wire format of the HTML standard's "event stream
// interpretation", reconnecting after a drop with Last-Event-ID so that the
// server sends what was missed.
//
//   const s = casehubSSE.open({url, token, onEvent(name, data, id), onStatus(status, problem)});
//   s.close();
//
// onStatus is told "connecting", "open", "reconnecting" (after a drop, before
// the next try), "unavailable" (404: the server has no such stream, and the
// reader stops; 503: not now, and the reader tries again every 5 s) and
// "denied" (401/403, with the problem+json; the reader stops). A Last-Event-ID
// the server refuses is dropped and reported as a `reset` event.
// A stream silent for longer than `silence` (the server sends a keep-alive
// every 15 s) is taken as dead and reopened.
(function () {
  "use strict";

  function sleep(ms, signal) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }

  async function readProblem(resp) {
    try {
      return await resp.json();
    } catch (e) {
      return { title: resp.statusText || "HTTP " + resp.status, status: resp.status };
    }
  }

  function open(opts) {
    const silence = opts.silence || 45000;
    const stopped = new AbortController(); // close(): the reader ends
    let retry = 1000;
    let lastEventId = opts.lastEventId || "";
    let current = null; // the AbortController of the connection now open
    let held = null; // a Promise while hold() keeps the reader off the server
    let release = null;
    const status = (s, p) => { try { opts.onStatus && opts.onStatus(s, p); } catch (e) { console.error(e); } };

    // parse feeds decoded text through the line parser and dispatches each
    // complete event.
    let buffer = "";
    let data = [], name = "", id = null;
    function line(l) {
      if (l === "") {
        if (id !== null) lastEventId = id;
        if (data.length > 0) {
          const text = data.join("\n");
          let parsed = text;
          try { parsed = JSON.parse(text); } catch (e) { /* not JSON: passed as text */ }
          try { opts.onEvent(name || "message", parsed, lastEventId); } catch (e) { console.error("event handler", name, e); }
        }
        data = []; name = ""; id = null;
        return;
      }
      if (l[0] === ":") return; // a comment: keep-alive
      const colon = l.indexOf(":");
      const field = colon < 0 ? l : l.slice(0, colon);
      let value = colon < 0 ? "" : l.slice(colon + 1);
      if (value[0] === " ") value = value.slice(1);
      switch (field) {
        case "data": data.push(value); break;
        case "event": name = value; break;
        case "id": if (!value.includes("\0")) id = value; break;
        case "retry": if (/^\d+$/.test(value)) retry = parseInt(value, 10); break;
      }
    }
    function parse(chunk) {
      buffer += chunk;
      for (;;) {
        const m = /\r\n|\r|\n/.exec(buffer);
        if (!m) break;
        // A lone \r at the end of the buffer may be the first half of \r\n.
        if (m[0] === "\r" && m.index === buffer.length - 1) break;
        line(buffer.slice(0, m.index));
        buffer = buffer.slice(m.index + m[0].length);
      }
    }

    async function connect() {
      const conn = new AbortController();
      current = conn;
      const abortAll = () => conn.abort();
      stopped.signal.addEventListener("abort", abortAll, { once: true });
      const headers = { Authorization: "Bearer " + opts.token, Accept: "text/event-stream" };
      if (lastEventId) headers["Last-Event-ID"] = lastEventId;
      let watchdog = null;
      const feed = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => conn.abort(), silence);
      };
      try {
        const resp = await fetch(opts.url, { headers, signal: conn.signal, cache: "no-store" });
        if (resp.status === 401 || resp.status === 403) {
          status("denied", await readProblem(resp));
          return false;
        }
        if (resp.status === 404 || resp.status === 405) {
          status("unavailable", await readProblem(resp));
          return false;
        }
        if ((resp.status === 400 || resp.status === 422) && lastEventId) {
          // The server does not know the id: start afresh, as after `reset`.
          const p = await readProblem(resp);
          lastEventId = "";
          try { opts.onEvent("reset", { reason: p.detail || p.title }, ""); } catch (e) { console.error(e); }
          return true;
        }
        if (resp.status === 503) {
          // This server does not serve the stream now: say so, and try again
          // later (the page reads the state meanwhile).
          status("unavailable", await readProblem(resp));
          await sleep(Math.max(retry, 5000), stopped.signal);
          return true;
        }
        if (!resp.ok || !resp.body) {
          status("reconnecting", await readProblem(resp));
          return true;
        }
        status("open");
        buffer = ""; data = []; name = ""; id = null;
        feed();
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          feed();
          parse(value);
        }
      } catch (e) {
        if (stopped.signal.aborted) return false;
      } finally {
        clearTimeout(watchdog);
        stopped.signal.removeEventListener("abort", abortAll);
        if (current === conn) current = null;
      }
      return !stopped.signal.aborted;
    }

    (async function loop() {
      status("connecting");
      while (!stopped.signal.aborted) {
        if (held) await held;
        if (stopped.signal.aborted) break;
        const again = await connect();
        if (!again || stopped.signal.aborted) return;
        status("reconnecting");
        await sleep(retry, stopped.signal);
      }
    })();

    return {
      close() { stopped.abort(); if (release) release(); },
      // drop ends the connection as a network failure would; the reader
      // reconnects with Last-Event-ID.
      drop() { if (current) current.abort(); },
      // hold drops the connection and stays away until resume(): what a
      // laptop on a train does. For tests and demonstrations.
      hold() {
        if (!held) held = new Promise((resolve) => { release = resolve; });
        if (current) current.abort();
      },
      resume() { if (release) { const r = release; held = null; release = null; r(); } },
      get lastEventId() { return lastEventId; },
    };
  }

  window.casehubSSE = { open };
})();
