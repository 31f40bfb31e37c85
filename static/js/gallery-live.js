// Live updates of the user's image jobs: pushed over /ws/images/ when the channel layer can
// carry a worker's events, and polled from each job's status URL as the fallback (always when
// the socket is down or the server says pushes from workers cannot reach it).
// Events: "job" (detail: a job payload), "positions" (detail: {jobId: place}), "state"
// (detail: "live" | "polling").
const CLOSE_UNAUTHORISED = 4401;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 20000;
const FAST_POLL_MS = 1500;
const SAFETY_POLL_MS = 10000;

export class JobUpdates extends EventTarget {
  constructor({ wsPath, pushReliable, activeJobs }) {
    super();
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    this.url = `${scheme}//${window.location.host}${wsPath}`;
    this.pushReliable = Boolean(pushReliable);
    // () => [{id, status_url}] of the jobs still queued or running.
    this.activeJobs = activeJobs;
    this.ws = null;
    this.open = false;
    this.attempt = 0;
    this.reconnectTimer = null;
    this.pollTimer = null;
    this.polling = false;
    this.stopped = false;
  }

  start() {
    this.connect();
    this.schedulePoll();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.pollNow();
    });
  }

  connect() {
    if (this.stopped) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.open = true;
      this.attempt = 0;
      this.announceState();
      // A change made before the socket joined its group was never pushed to it.
      this.pollNow();
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.handleFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.open = false;
      this.announceState();
      if (event.code === CLOSE_UNAUTHORISED) {
        this.stopped = true; // the session ended; polling will meet the login page too
        return;
      }
      const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      this.reconnectTimer = window.setTimeout(() => this.connect(), delay);
      this.schedulePoll(FAST_POLL_MS);
    });
  }

  handleFrame(frame) {
    if (!frame || typeof frame.type !== "string") return;
    if (frame.type === "jobs" && Array.isArray(frame.jobs)) {
      for (const job of frame.jobs) this.emit("job", job);
    } else if (frame.type === "job" && frame.job) {
      this.emit("job", frame.job);
      if (frame.positions) this.emit("positions", frame.positions);
    }
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  announceState() {
    this.emit("state", this.open && this.pushReliable ? "live" : "polling");
  }

  interval() {
    return this.open && this.pushReliable ? SAFETY_POLL_MS : FAST_POLL_MS;
  }

  schedulePoll(delay = this.interval()) {
    window.clearTimeout(this.pollTimer);
    this.pollTimer = window.setTimeout(() => this.pollNow(), delay);
  }

  async pollNow() {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const job of this.activeJobs()) {
        const response = await fetch(job.status_url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (response.status === 404) {
          this.emit("gone", job.id);
          continue;
        }
        if (!response.ok || !(response.headers.get("Content-Type") || "").includes("json")) continue;
        const body = await response.json();
        if (body && body.job) this.emit("job", body.job);
      }
    } catch {
      // Offline for a moment: the next round tries again.
    } finally {
      this.polling = false;
      this.schedulePoll();
    }
  }
}
