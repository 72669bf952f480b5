// The agent desk: one Alpine component holding what the agent sees. Its
// picture is GET /v1/agents/{id} (and the agent's open work) read after the
// stream's `ready`, then kept current by the agent's events
// (docs/events.md); every action is one API call, shown at once.
document.addEventListener("alpine:init", () => {
  const { api, Problem, signIn, since, until, clock, word } = window.casehub;
  const KEY = "casehub.desk";

  // emptyForms are the inputs of one piece of work's panel.
  const emptyForms = () => ({
    note: "", message: "", transferAgent: "", transferQueue: "", transferReason: "",
    escKind: "incident", escShort: "", escDesc: "", disposition: "", openIncident: false,
    search: { name: "", phone: "", email: "", company: "", case_number: "" },
    contact: { name: "", email: "" },
    caseForm: { subject: "", description: "", category: "", priority: "medium" },
    consultCase: "", consultNote: "", cancelReason: "",
    cbOutcome: "completed", cbDisposition: "",
  });

  Alpine.data("desk", () => ({
    // Sign-in.
    agentId: "", token: "", form: { agent: "agent-1", token: "" },
    // The stream: connecting, live, reconnecting, polling, denied.
    conn: "signed out", stream: null, needState: true, pending: null, poller: null,
    now: Date.now(),
    agent: null,
    offers: [], // booked (reserved) and presented offers, by offer_id
    work: [], // the calls, chats and callbacks the agent works on
    selected: "",
    notices: [], noticeSeq: 0,
    problem: null,
    breakReason: "", wrapupDisposition: "",
    queues: {}, // acceptance timeouts by queue, for offers read from GET

    init() {
      setInterval(() => { this.now = Date.now(); }, 250);
      const saved = signIn.load(KEY);
      if (saved && saved.agentId && saved.token) {
        this.agentId = saved.agentId;
        this.token = saved.token;
        this.form.agent = saved.agentId;
        this.start();
      }
    },

    // ---- sign-in and the stream ----

    signIn() {
      this.problem = null;
      const agentId = this.form.agent.trim(), token = this.form.token.trim();
      if (!agentId || !token) {
        this.problem = { title: "Sign-in needs the agent id and its token", detail: "", errors: [] };
        return;
      }
      this.agentId = agentId;
      this.token = token;
      signIn.save(KEY, { agentId, token, work: [] });
      this.form.token = "";
      this.start();
    },

    signOut() {
      if (this.stream) this.stream.close();
      clearInterval(this.poller);
      this.poller = null;
      signIn.clear(KEY);
      Object.assign(this, { agentId: "", token: "", stream: null, agent: null, offers: [], work: [], selected: "", conn: "signed out", problem: null });
    },

    get signedIn() { return this.token !== ""; },

    start() {
      this.needState = true;
      this.conn = "connecting";
      this.stream = window.casehubSSE.open({
        url: "/v1/agents/" + encodeURIComponent(this.agentId) + "/events",
        token: this.token,
        onStatus: (s, p) => this.onStatus(s, p),
        onEvent: (name, data, id) => this.onEvent(name, data, id),
      });
      window.deskStream = this.stream; // tests drop and hold the stream through it
    },

    onStatus(s, p) {
      if (s === "open") return; // live once `ready` arrives
      if (s === "denied") {
        this.conn = "denied";
        this.showProblem(new Problem(p || {}, p && p.status));
        return;
      }
      if (s === "unavailable") {
        // A casehub not serving live events: read the state every 2 s
        // until the stream is back.
        this.conn = "polling";
        if (!this.poller) {
          this.loadState();
          this.poller = setInterval(() => this.loadState(), 2000);
        }
        return;
      }
      this.conn = s;
    },

    onEvent(name, d, id) {
      if (name === "ready") {
        if (this.poller) { clearInterval(this.poller); this.poller = null; this.needState = true; }
        // Live once the desk shows the current state.
        if (this.needState) this.loadState().then(() => { if (this.conn !== "denied") this.conn = "live"; });
        else this.conn = "live";
        return;
      }
      if (name === "reset") {
        this.notify("The stream could not resume; the desk read the current state again.");
        this.loadState();
        return;
      }
      // While the state is being read, events wait and are applied after it,
      // in order: a change that is in the state already is applied again,
      // to the same result.
      if (this.pending) { this.pending.push([name, d]); return; }
      this.apply(name, d);
    },

    apply(name, d) {
      const h = {
        "presence": () => this.setPresence(d),
        "wrapup.started": () => { this.agent.presence = "wrap_up"; this.agent.wrapup_until = d.until; this.agent.wrapup_item = d.item_id; },
        "wrapup.ended": () => { this.agent.presence = d.presence; this.agent.wrapup_until = null; },
        "offer.booked": () => this.putOffer(d, "booked"),
        "offer.presented": () => this.putOffer(d, "presented"),
        "offer.accepted": () => this.offerEnded(d, ""),
        "offer.rejected": () => this.offerEnded(d, ""),
        "offer.timed_out": () => this.offerEnded(d, "The offer of " + this.offerTitle(d) + " timed out: you are on break."),
        "offer.withdrawn": () => this.offerEnded(d, "The offer of " + this.offerTitle(d) + " was withdrawn."),
        "interaction": () => this.interactionChanged(d),
        "chat.message": () => this.chatMessage(d),
        "callback": () => this.callbackChanged(d),
        "callback.attempt": () => this.callbackAttempt(d),
      }[name];
      if (h && this.agent) h();
    },

    // loadState reads the agent, its offers and its open work.
    async loadState() {
      if (this.pending) return;
      this.pending = [];
      try {
        const a = await this.call("GET", "/v1/agents/" + encodeURIComponent(this.agentId));
        this.agent = a;
        this.needState = false;
        const offers = [];
        for (const o of a.pending_offers || []) {
          offers.push(await this.offerFromGet({
            offer_id: o.id, item_id: o.item_id, queue: o.queue, channel: o.channel, kind: o.kind,
            interaction: o.interaction, callback_id: o.callback_id, presented_at: o.presented_at,
          }));
        }
        for (const r of a.reserved_for || []) {
          offers.push({ offer_id: r.offer_id, item_id: r.item_id, queue: r.queue, channel: r.channel, kind: r.kind,
            interaction: r.interaction, callback_id: r.callback_id, booked_at: r.since, phase: "booked" });
        }
        this.offers = offers;
        await this.loadWork();
      } catch (e) {
        this.showProblem(e);
      } finally {
        const later = this.pending || [];
        this.pending = null;
        for (const [name, d] of later) this.apply(name, d);
      }
    },

    // loadWork finds the open work: the interactions assigned to the agent
    // in progress, and the callbacks this tab took (an agent cannot list
    // callbacks, so the tab remembers them).
    async loadWork() {
      const list = await this.call("GET", "/v1/interactions?state=work_in_progress&limit=50");
      const keep = this.work.filter((w) => w.ended);
      const fresh = [];
      for (const it of list.items || []) fresh.push(this.workFor({ number: it.number }));
      for (const id of (signIn.load(KEY) || {}).work || []) {
        if (!fresh.some((w) => w.callbackId === id)) fresh.push(this.workFor({ callbackId: id }));
      }
      this.work = keep.concat(fresh.filter((w) => !keep.some((k) => k.key === w.key)));
      await Promise.all(this.work.filter((w) => !w.ended).map((w) => this.refresh(w)));
      // A callback's call belongs to its callback's panel.
      this.work = this.work.filter((w) => !(w.callbackId === undefined && this.work.some((o) => o.callbackId && o.number === w.number)));
      if (!this.work.some((w) => w.key === this.selected)) this.selected = this.work.length ? this.work[0].key : "";
    },

    // ---- presence ----

    setPresence(d) {
      Object.assign(this.agent, {
        presence: d.presence, presence_at: d.since, wrapup_until: d.wrapup_until || null,
        voice_load: d.voice_load ?? this.agent.voice_load, chat_load: d.chat_load ?? this.agent.chat_load,
      });
    },

    get status() {
      if (!this.agent) return "";
      const a = this.agent;
      const working = this.offers.length > 0 || this.work.some((w) => !w.ended);
      if (a.presence === "available" && (working || a.voice_load > 0 || a.chat_load > 0)) return "busy";
      return a.presence;
    },

    async presence(p) {
      const body = { presence: p };
      if (p === "on_break" && this.breakReason.trim()) body.reason = this.breakReason.trim();
      const st = await this.act("PUT", "/v1/agents/" + encodeURIComponent(this.agentId) + "/presence", body);
      if (st) this.agent = Object.assign({}, this.agent, { presence: st.presence, presence_at: st.since || new Date().toISOString(), wrapup_until: st.wrapup_until || null });
    },

    async endWrapUp() {
      const body = {};
      if (this.wrapupDisposition.trim()) body.disposition = this.wrapupDisposition.trim();
      const st = await this.act("POST", "/v1/agents/" + encodeURIComponent(this.agentId) + "/end-wrap-up", body);
      if (st) {
        this.wrapupDisposition = "";
        this.agent = Object.assign({}, this.agent, { presence: st.presence, presence_at: st.since || new Date().toISOString(), wrapup_until: null });
      }
    },

    // ---- offers ----

    offerTitle(o) {
      return o.interaction ? o.interaction : "callback " + o.callback_id;
    },

    async acceptanceTimeout(queue) {
      if (!(queue in this.queues)) {
        try {
          const q = await this.call("GET", "/v1/queues/" + encodeURIComponent(queue));
          this.queues[queue] = q.acceptance_timeout_seconds;
        } catch (e) { this.queues[queue] = null; }
      }
      return this.queues[queue];
    },

    // offerFromGet completes an offer listed by GET /v1/agents/{id} with what
    // offer.presented carries: the caller, the IVR data, the deadline.
    async offerFromGet(o) {
      o.phase = "presented";
      const secs = await this.acceptanceTimeout(o.queue);
      if (secs && o.presented_at) o.accept_by = new Date(Date.parse(o.presented_at) + secs * 1000).toISOString();
      try {
        if (o.interaction) {
          const d = await this.call("GET", "/v1/interactions/" + o.interaction);
          Object.assign(o, { caller: d.contact_phone || d.contact_email, ivr: d.ivr, case_number: d.ivr_case_number,
            contact_id: d.contact_id, interaction_channel: d.channel, short_description: d.short_description });
        } else if (o.callback_id) {
          const c = await this.call("GET", "/v1/callbacks/" + o.callback_id);
          Object.assign(o, { caller: c.number, ivr: c.ivr, case_number: c.case_number, mode: c.mode, reason: c.reason,
            attempts: c.attempts, max_attempts: c.max_attempts });
        }
      } catch (e) { /* shown without them */ }
      return o;
    },

    putOffer(d, phase) {
      const o = Object.assign({}, this.offers.find((x) => x.offer_id === d.offer_id) || {}, d, { phase });
      if (phase === "booked" && this.offers.some((x) => x.offer_id === d.offer_id && x.phase === "presented")) return;
      this.offers = this.offers.filter((x) => x.offer_id !== d.offer_id).concat([o]);
      if (phase === "presented") this.notify("Incoming " + this.channelWord(o) + " from " + (o.caller || "an unknown number") + ".");
    },

    offerEnded(d, message) {
      const had = this.offers.some((x) => x.offer_id === d.offer_id);
      this.offers = this.offers.filter((x) => x.offer_id !== d.offer_id);
      if (message && (had || d.was_presented)) this.notify(message);
    },

    channelWord(o) {
      if (o.callback_id) return "callback";
      return o.channel === "chat" ? "chat" : "call";
    },

    ivrPairs(ivr) {
      return ivr ? Object.entries(ivr).map(([k, v]) => k + ": " + v) : [];
    },

    async answer(o, accept) {
      const path = o.interaction
        ? "/v1/interactions/" + o.interaction + "/" + (accept ? "accept" : "reject")
        : "/v1/callbacks/" + o.callback_id + "/" + (accept ? "accept" : "reject");
      const st = await this.act("POST", path, {});
      this.offers = this.offers.filter((x) => x.offer_id !== o.offer_id);
      if (!st || !accept) return;
      const w = this.workFor(o.interaction ? { number: o.interaction } : { callbackId: o.callback_id });
      this.open(w);
      await this.refresh(w);
    },

    // ---- work ----

    workFor(ref) {
      const key = ref.callbackId ? "cb:" + ref.callbackId : "ix:" + ref.number;
      let w = this.work.find((x) => x.key === key);
      if (!w) {
        w = { key, number: ref.number || "", callbackId: ref.callbackId, ix: null, cb: null, process: null,
          attempt: null, history: null, transferredTo: "", ended: false, endedWhy: "", forms: emptyForms() };
      }
      return w;
    },

    open(w) {
      if (!this.work.some((x) => x.key === w.key)) this.work.push(w);
      this.selected = w.key;
      this.rememberCallbacks();
    },

    rememberCallbacks() {
      const saved = signIn.load(KEY);
      if (!saved) return;
      saved.work = this.work.filter((w) => w.callbackId && !w.ended).map((w) => w.callbackId);
      signIn.save(KEY, saved);
    },

    get current() { return this.work.find((w) => w.key === this.selected) || null; },

    dismiss(w) {
      this.work = this.work.filter((x) => x.key !== w.key);
      if (this.selected === w.key) this.selected = this.work.length ? this.work[0].key : "";
      this.rememberCallbacks();
    },

    workTitle(w) {
      if (w.callbackId) return "Callback " + w.callbackId + (w.cb ? " · " + w.cb.number : "");
      const ix = w.ix;
      return (ix ? word(ix.channel) + " " : "") + w.number + (ix && (ix.contact_phone || ix.contact_email) ? " · " + (ix.contact_phone || ix.contact_email) : "");
    },

    // refresh rereads a piece of work: the interaction's record, the
    // callback, the case process.
    // Reads may finish out of order: only the last one started is taken (it
    // started after the last event, so it is the newest), and the chat
    // messages the stream brought are kept in whatever a read returns.
    async refresh(w) {
      const mine = (w.reads = (w.reads || 0) + 1);
      const stale = () => mine !== w.reads;
      try {
        if (w.callbackId) {
          const cb = await this.call("GET", "/v1/callbacks/" + w.callbackId);
          if (stale()) return;
          w.cb = cb;
          if (w.cb.interaction) w.number = w.cb.interaction;
          if (!["in_progress"].includes(w.cb.state) || (w.cb.agent_id && w.cb.agent_id !== this.agentId)) {
            w.ended = true;
            w.endedWhy = "Callback " + word(w.cb.state).toLowerCase() + (w.cb.outcome ? " (" + w.cb.outcome + ")" : "");
          }
        }
        if (w.number) {
          const ix = await this.call("GET", "/v1/interactions/" + w.number);
          if (stale()) return;
          ix.transcript = this.withMessages(ix.transcript, w.messages);
          w.ix = ix;
          if (!w.callbackId) {
            if (w.ix.state === "closed_complete") { w.ended = true; w.endedWhy = "Closed complete"; }
            else if (w.ix.agent_id !== this.agentId) {
              w.ended = true;
              w.endedWhy = "Transferred to " + (w.ix.agent_id ? w.ix.agent_id : "queue " + w.ix.queue);
            }
          }
          const running = (w.ix.processes || []).filter((p) => !p.ended);
          const want = running.length ? running[running.length - 1] : null;
          if (want && (!w.process || w.process.workflow_id !== want.id)) {
            const ps = await this.call("GET", "/v1/processes/" + encodeURIComponent(want.id));
            if (stale()) return;
            w.process = ps;
            this.loadHistory(w);
          }
        }
      } catch (e) {
        if (stale()) return;
        if (e.status === 403 || e.status === 404) {
          // Not the agent's to read any more: handed on, or taken away.
          w.ended = true;
          w.endedWhy = w.endedWhy || (w.transferredTo ? "Transferred to " + w.transferredTo : "No longer yours");
        } else {
          this.showProblem(e);
        }
      }
      if (w.ended) this.rememberCallbacks();
      this.work = this.work.slice(); // a change Alpine sees
    },

    byNumber(n) { return this.work.filter((w) => w.number === n); },

    interactionChanged(d) {
      let ws = this.byNumber(d.interaction);
      if (ws.length === 0 && d.state === "work_in_progress" && d.agent_id === this.agentId) {
        // Work that reached the agent without an offer here (click-to-call).
        const w = this.workFor({ number: d.interaction });
        this.work.push(w);
        if (!this.selected) this.selected = w.key;
        ws = [w];
      }
      for (const w of ws) {
        if (!w.callbackId && d.agent_id && d.agent_id !== this.agentId && d.state !== "closed_complete") {
          w.ended = true;
          w.endedWhy = "Transferred to " + d.agent_id;
          this.work = this.work.slice();
          continue;
        }
        this.refresh(w);
      }
    },

    chatMessage(d) {
      for (const w of this.byNumber(d.interaction)) {
        const m = { seq: d.seq, sender: d.sender, text: d.text, at: d.at };
        w.messages = (w.messages || []).filter((x) => x.seq !== m.seq).concat([m]);
        if (w.ix) w.ix.transcript = this.withMessages(w.ix.transcript, [m]);
      }
      this.work = this.work.slice();
    },

    withMessages(transcript, messages) {
      const t = (transcript || []).slice();
      for (const m of messages || []) if (!t.some((x) => x.seq === m.seq)) t.push(m);
      return t.sort((a, b) => a.seq - b.seq);
    },

    callbackChanged(d) {
      const w = this.work.find((x) => x.callbackId === d.callback_id);
      if (w) this.refresh(w);
    },

    callbackAttempt(d) {
      const w = this.work.find((x) => x.callbackId === d.callback_id);
      if (!w) return;
      w.attempt = d;
      if (d.unanswered) this.notify("Callback " + d.callback_id + ": attempt " + d.attempt + " " + d.outcome.replaceAll("_", " ") + (d.redial_allowed ? "; you may redial." : "."));
      this.refresh(w);
    },

    // ---- the call panel ----

    ixPath(w, verb) { return "/v1/interactions/" + w.number + "/" + verb; },

    async addNote(w) {
      const body = w.forms.note.trim();
      if (!body) return;
      if (await this.act("POST", this.ixPath(w, "notes"), { body })) { w.forms.note = ""; await this.refresh(w); }
    },

    async sendMessage(w) {
      const text = w.forms.message.trim();
      if (!text) return;
      if (await this.act("POST", this.ixPath(w, "messages"), { text })) { w.forms.message = ""; await this.refresh(w); }
    },

    async chooseChatContact(w, id) {
      if (await this.act("POST", this.ixPath(w, "choose-contact"), { contact_id: id })) await this.refresh(w);
    },

    async transfer(w, to) {
      const body = {};
      if (to === "agent") body.to_agent_id = w.forms.transferAgent.trim();
      else body.to_queue = w.forms.transferQueue.trim();
      if (w.forms.transferReason.trim()) body.reason = w.forms.transferReason.trim();
      // Known before the answer: the record's change may arrive first.
      w.transferredTo = body.to_agent_id || "queue " + body.to_queue;
      if (!(await this.act("POST", this.ixPath(w, "transfer"), body))) {
        w.transferredTo = "";
      } else {
        this.notify(w.number + " transferred to " + (body.to_agent_id || "queue " + body.to_queue) + ".");
        await this.refresh(w);
      }
    },

    async escalate(w) {
      const body = { kind: w.forms.escKind, short_description: w.forms.escShort.trim() };
      if (w.forms.escDesc.trim()) body.description = w.forms.escDesc.trim();
      const ref = await this.act("POST", this.ixPath(w, "escalate"), body);
      if (ref) {
        this.notify(word(ref.kind) + " " + ref.number + " opened from " + w.number + ".");
        w.forms.escShort = ""; w.forms.escDesc = "";
        await this.refresh(w);
      }
    },

    async end(w) {
      const body = {};
      if (w.forms.disposition.trim()) body.disposition = w.forms.disposition.trim();
      if (w.ix && w.ix.channel === "chat" && w.forms.openIncident) body.open_incident = true;
      const verb = w.ix && ["email", "walk_in", "self_service"].includes(w.ix.channel) ? "close" : "end";
      if (await this.act("POST", this.ixPath(w, verb), body)) await this.refresh(w);
    },

    // contactLabel names the record's contact when the desk knows the name
    // (from the case process), else gives its id.
    contactLabel(w) {
      const id = w.ix && w.ix.contact_id;
      if (!id) return "—";
      const c = w.process && w.process.contact;
      return c && c.id === id ? c.name + (c.company_name ? " (" + c.company_name + ")" : "") : id;
    },

    related(w, kind) {
      return ((w.ix && w.ix.related) || []).filter((r) => !kind || r.kind === kind);
    },

    // ---- case processes (seed 004) ----

    async startProcess(w, kind) {
      try {
        w.process = await this.call("POST", this.ixPath(w, "processes"), { kind });
        this.problem = null;
        this.loadHistory(w);
      } catch (e) {
        if (e.status === 409 && e.processId) {
          w.process = await this.call("GET", "/v1/processes/" + encodeURIComponent(e.processId));
        } else {
          this.showProblem(e);
        }
      }
      this.work = this.work.slice();
    },

    async step(w, name, body) {
      const p = await this.act("POST", "/v1/processes/" + encodeURIComponent(w.process.workflow_id) + "/" + name, body);
      if (!p) return;
      w.process = p;
      this.loadHistory(w);
      if (p.caller_number_added && name === "select-contact") this.notify("The calling number was added to " + p.contact.name + "'s communication options.");
      if (p.step === "done" && p.case) this.notify("Case " + p.case.number + " created for " + p.contact.name + ".");
      this.work = this.work.slice();
      this.refresh(w);
    },

    search(w) {
      const body = {};
      for (const [k, v] of Object.entries(w.forms.search)) if (v.trim()) body[k] = v.trim();
      if (w.process.flow !== "advise_on_existing_case") delete body.case_number;
      return this.step(w, "search-contacts", body);
    },

    newContact(w) {
      const body = { name: w.forms.contact.name.trim() };
      if (w.forms.contact.email.trim()) body.email = w.forms.contact.email.trim();
      return this.step(w, "new-contact", body);
    },

    submitCase(w) {
      const f = w.forms.caseForm, body = { subject: f.subject.trim(), priority: f.priority };
      if (f.description.trim()) body.description = f.description.trim();
      if (f.category.trim()) body.category = f.category.trim();
      return this.step(w, "submit-case", body);
    },

    recordConsultation(w) {
      return this.step(w, "record-consultation", { case_number: w.forms.consultCase, note: w.forms.consultNote.trim() })
        .then(() => { w.forms.consultNote = ""; });
    },

    cancelProcess(w) {
      const body = {};
      if (w.forms.cancelReason.trim()) body.reason = w.forms.cancelReason.trim();
      return this.step(w, "cancel", body);
    },

    processEnded(p) { return p && ["done", "abandoned", "cancelled"].includes(p.step); },

    // historyOf is the contact's cases, newest first: the process's own list
    // (Advise on existing case), or read for the case page.
    historyOf(w) {
      const p = w.process;
      if (!p || !p.contact) return [];
      if (p.history && p.history.length) return p.history;
      return w.history && w.history.contact === p.contact.id ? w.history.items : [];
    },

    async loadHistory(w) {
      const p = w.process;
      if (!p || !p.contact || (p.history && p.history.length) || (w.history && w.history.contact === p.contact.id)) return;
      try {
        const list = await this.call("GET", "/v1/cases?limit=50&contact_id=" + encodeURIComponent(p.contact.id));
        w.history = { contact: p.contact.id, items: list.items || [] };
        this.work = this.work.slice();
      } catch (e) { this.showProblem(e); }
    },

    contactOptions(c) {
      return (c && c.communication_options || []).map((o) => o.value).join(", ");
    },

    // ---- callbacks ----

    // cbNext says whether the callback takes step now: its process lists it,
    // or (the process's own view may lag the attempt) the last attempt's
    // event says a redial is allowed, which the API takes at once.
    cbNext(w, step) {
      if (!w.cb || w.ended) return false;
      const a = this.lastAttempt(w);
      if (a) {
        if (step === "dial") return !!(a.unanswered && a.redial_allowed);
        if (step === "close") return (a.unanswered && w.cb.mode === "agent_first") || ["answered", "connected"].includes(a.outcome);
        return false;
      }
      return !!(w.cb.process && (w.cb.process.next || []).includes(step));
    },

    // lastAttempt is the latest attempt's event when it is newer than what
    // the callback's process said when the desk last read it: the process
    // takes in an attempt's end a moment after the record shows it.
    lastAttempt(w) {
      const a = w.attempt, p = w.cb && w.cb.process;
      if (!a || !p) return null;
      const settled = p.step !== "dialing" && p.attempts >= a.attempt;
      return settled ? null : a;
    },

    cbStep(w) {
      if (!w.cb) return "";
      const a = this.lastAttempt(w);
      if (a) return a.unanswered ? "unanswered" : (["answered", "connected"].includes(a.outcome) ? "connected" : "dialing");
      return w.cb.process ? w.cb.process.step : word(w.cb.state);
    },

    dialWord(w) { return this.cbStep(w) === "unanswered" ? "Redial" : "Dial"; },

    async dial(w) {
      if (await this.act("POST", "/v1/callbacks/" + w.callbackId + "/dial")) await this.refresh(w);
    },

    async closeCallback(w) {
      const body = { outcome: w.forms.cbOutcome };
      if (w.forms.cbDisposition.trim()) body.disposition = w.forms.cbDisposition.trim();
      if (await this.act("POST", "/v1/callbacks/" + w.callbackId + "/close", body)) await this.refresh(w);
    },

    // ---- plumbing ----

    call(method, path, body) { return api(this.token, method, path, body); },

    // act runs an agent's action: its answer, or null with the problem shown.
    async act(method, path, body) {
      try {
        const out = await this.call(method, path, body);
        this.problem = null;
        return out || {};
      } catch (e) {
        this.showProblem(e);
        return null;
      }
    },

    showProblem(e) {
      if (e instanceof Problem) {
        this.problem = { title: e.title, detail: e.detail, errors: e.errors, status: e.status };
      } else {
        this.problem = { title: "Something went wrong in the desk", detail: String(e && e.message || e), errors: [] };
        console.error(e);
      }
    },

    notify(text) {
      const id = ++this.noticeSeq;
      this.notices = this.notices.concat([{ id, text }]).slice(-5);
    },

    since(iso) { return since(iso, this.now); },
    until(iso) { return until(iso, this.now); },
    clock, word,
  }));
});
