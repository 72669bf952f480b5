// The supervisors' wall: queues with their waiting items and oldest wait,
// agents by state with time in state, callbacks waiting and when they are
// due. First picture from GET /v1/queues, /v1/queues/{name}, /v1/agents and
// /v1/callbacks after the stream's `ready`, then live from GET /v1/events.
// `?queues=a,b` shows those queues and their members only.
document.addEventListener("alpine:init", () => {
  const { api, Problem, signIn, since, until, clock, word } = window.casehub;
  const KEY = "casehub.wall";
  const inQueue = (state) => state === "waiting" || state === "offered";
  const openCallback = (state) => ["scheduled", "queued", "in_progress"].includes(state);
  const order = ["available", "busy", "wrap_up", "on_break", "offline"];

  Alpine.data("wall", () => ({
    token: "", form: { token: "" },
    conn: "signed out", stream: null, needState: true, pending: null, poller: null,
    now: Date.now(),
    only: [], // the queues asked for, or all
    queues: {}, // name -> {name, items: {item_id: item}, members: [agent ids] | null}
    agents: {}, // id -> agent
    callbacks: {}, // id -> callback
    problem: null,

    init() {
      setInterval(() => { this.now = Date.now(); }, 250);
      const q = new URLSearchParams(location.search).get("queues");
      this.only = q ? q.split(",").map((s) => s.trim()).filter(Boolean) : [];
      const saved = signIn.load(KEY);
      if (saved && saved.token) { this.token = saved.token; this.start(); }
    },

    get signedIn() { return this.token !== ""; },

    signIn() {
      const token = this.form.token.trim();
      if (!token) { this.problem = { title: "Sign-in needs a supervisor's token", detail: "", errors: [] }; return; }
      this.token = token;
      this.form.token = "";
      signIn.save(KEY, { token });
      this.start();
    },

    signOut() {
      if (this.stream) this.stream.close();
      clearInterval(this.poller);
      this.poller = null;
      signIn.clear(KEY);
      Object.assign(this, { token: "", stream: null, queues: {}, agents: {}, callbacks: {}, conn: "signed out", problem: null });
    },

    start() {
      this.needState = true;
      this.conn = "connecting";
      this.stream = window.casehubSSE.open({
        url: "/v1/events", token: this.token,
        onStatus: (s, p) => {
          if (s === "open") return;
          if (s === "denied") { this.conn = "denied"; this.showProblem(new Problem(p || {}, p && p.status)); return; }
          if (s === "unavailable") {
            this.conn = "polling";
            if (!this.poller) { this.loadState(); this.poller = setInterval(() => this.loadState(), 5000); }
            return;
          }
          this.conn = s;
        },
        onEvent: (name, d) => this.onEvent(name, d),
      });
      window.wallStream = this.stream;
    },

    onEvent(name, d) {
      if (name === "ready") {
        if (this.poller) { clearInterval(this.poller); this.poller = null; this.needState = true; }
        // Live once the wall shows the current picture.
        if (this.needState) this.loadState().then(() => { if (this.conn !== "denied") this.conn = "live"; });
        else this.conn = "live";
        return;
      }
      if (name === "reset") { this.loadState(); return; }
      if (this.pending) { this.pending.push([name, d]); return; }
      this.apply(name, d);
    },

    shows(queue) { return this.only.length === 0 || this.only.includes(queue); },

    async loadState() {
      if (this.pending) return;
      this.pending = [];
      try {
        let names = this.only;
        if (names.length === 0) names = ((await this.call("GET", "/v1/queues")).items || []).map((q) => q.name);
        const queues = {}, agents = {};
        for (const name of names) {
          const q = await this.call("GET", "/v1/queues/" + encodeURIComponent(name));
          const items = {};
          for (const it of q.waiting || []) if (inQueue(it.state)) items[it.id] = it;
          queues[name] = { name, items, members: (q.members || []).map((a) => a.id) };
          if (this.only.length) for (const a of q.members || []) agents[a.id] = a;
        }
        if (this.only.length === 0) {
          for (let offset = 0; offset !== null && offset < 5000;) {
            const page = await this.call("GET", "/v1/agents?limit=200&offset=" + offset);
            for (const a of page.items || []) agents[a.id] = a;
            offset = page.next_offset;
          }
        }
        const callbacks = {};
        const lists = this.only.length ? this.only.map((q) => "&queue=" + encodeURIComponent(q)) : [""];
        for (const filter of lists) {
          const list = await this.call("GET", "/v1/callbacks?state=pending&limit=200" + filter);
          for (const c of list.items || []) if (this.shows(c.queue)) callbacks[c.id] = c;
        }
        Object.assign(this, { queues, agents, callbacks, needState: false, problem: null });
      } catch (e) {
        this.showProblem(e);
      } finally {
        const later = this.pending || [];
        this.pending = null;
        for (const [name, d] of later) this.apply(name, d);
      }
    },

    apply(name, d) {
      switch (name) {
        case "item": {
          if (!this.shows(d.queue)) return;
          const q = this.queues[d.queue] || (this.queues[d.queue] = { name: d.queue, items: {}, members: null });
          if (inQueue(d.state)) q.items[d.item_id] = Object.assign({}, q.items[d.item_id] || {}, { id: d.item_id, state: d.state, channel: d.channel, kind: d.kind, enqueued_at: d.enqueued_at, agent_id: d.agent_id });
          else delete q.items[d.item_id];
          break;
        }
        case "presence":
        case "agent.changed": {
          const a = this.agents[d.agent_id];
          if (!a) {
            if (this.only.length) return; // not a member of the queues shown
            this.agents[d.agent_id] = { id: d.agent_id };
          }
          const to = this.agents[d.agent_id];
          for (const k of ["name", "presence", "voice_load", "chat_load", "max_chats", "wrapup_until"]) if (k in d) to[k] = d[k];
          if (d.since) to.presence_at = d.since;
          break;
        }
        case "callback": {
          const c = this.callbacks[d.callback_id];
          if (!openCallback(d.state)) { delete this.callbacks[d.callback_id]; return; }
          if (c) {
            Object.assign(c, { state: d.state, attempts: d.attempts, max_attempts: d.max_attempts, next_attempt_at: d.next_attempt_at, outcome: d.outcome });
          } else {
            this.fetchCallback(d.callback_id);
          }
          break;
        }
        case "callback.attempt": {
          const c = this.callbacks[d.callback_id];
          if (c) c.last = d.outcome;
          break;
        }
      }
    },

    async fetchCallback(id) {
      try {
        const c = await this.call("GET", "/v1/callbacks/" + encodeURIComponent(id));
        if (this.shows(c.queue) && openCallback(c.state)) this.callbacks[id] = c;
      } catch (e) { /* gone meanwhile */ }
    },

    // ---- what the wall shows ----

    get queueRows() {
      return Object.values(this.queues).sort((a, b) => a.name.localeCompare(b.name)).map((q) => {
        const items = Object.values(q.items);
        const oldest = items.reduce((m, i) => (!m || i.enqueued_at < m ? i.enqueued_at : m), null);
        const members = q.members ? q.members.map((id) => this.agents[id]).filter(Boolean) : [];
        return {
          name: q.name,
          waiting: items.filter((i) => i.state === "waiting").length,
          offered: items.filter((i) => i.state === "offered").length,
          oldest,
          available: members.filter((a) => this.status(a) === "available").length,
        };
      });
    },

    status(a) {
      if (a.presence === "available" && ((a.voice_load || 0) > 0 || (a.chat_load || 0) > 0)) return "busy";
      return a.presence || "offline";
    },

    get agentGroups() {
      const groups = order.map((s) => ({ state: s, agents: [] }));
      for (const a of Object.values(this.agents)) {
        const g = groups.find((x) => x.state === this.status(a));
        if (g) g.agents.push(a);
      }
      for (const g of groups) g.agents.sort((a, b) => (a.presence_at || "").localeCompare(b.presence_at || ""));
      return groups;
    },

    dueAt(c) { return c.next_attempt_at || c.due_at || c.scheduled_at || c.created_at; },

    get callbackRows() {
      return Object.values(this.callbacks).sort((a, b) => (this.dueAt(a) || "").localeCompare(this.dueAt(b) || ""));
    },

    dueWords(c) {
      const at = this.dueAt(c);
      if (!at) return "now";
      const ms = Date.parse(at) - this.now;
      return ms > 0 ? "in " + until(at, this.now) : "due " + since(at, this.now) + " ago";
    },

    call(method, path, body) { return api(this.token, method, path, body); },

    showProblem(e) {
      this.problem = e instanceof Problem
        ? { title: e.title, detail: e.detail, errors: e.errors }
        : { title: "Something went wrong on the wall", detail: String(e && e.message || e), errors: [] };
    },

    since(iso) { return since(iso, this.now); },
    clock, word,
  }));
});
