// The chat WebSocket: connects, parses frames, and reconnects with backoff when the
// connection drops. Events:
//   "frame"  detail: the parsed frame object
//   "state"  detail: {state: "connecting" | "open" | "waiting" | "closed", code?, retryIn?}
const CLOSE_UNAUTHORISED = 4401;
const CLOSE_NOT_FOUND = 4404;
const FIRST_DELAY_MS = 600;
const MAX_DELAY_MS = 20000;

export class ChatSocket extends EventTarget {
  constructor(path) {
    super();
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    this.url = `${scheme}//${window.location.host}${path}`;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.finished = false;
    this.state = "connecting";
    window.addEventListener("online", () => this.reconnectSoon());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reconnectSoon();
    });
  }

  connect() {
    if (this.finished) return;
    window.clearTimeout(this.timer);
    this.timer = null;
    this.setState({ state: "connecting" });
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws === ws) this.setState({ state: "open" });
    });
    // Frames that overtake this connection's history: the server joins a live reply before
    // the text so far reaches it, so deltas (even the end of the reply) can come first. They
    // are applied after the history, which they extend; their offsets skip what it repeats.
    let early = [];
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!frame || typeof frame.type !== "string") return;
      if (frame.type !== "history" && early !== null) {
        early.push(frame);
        return;
      }
      // Only a connection that got as far as its history counts as healthy; a server that
      // accepts and drops at once must not be hammered without delay.
      if (frame.type === "history") this.attempt = 0;
      this.dispatchEvent(new CustomEvent("frame", { detail: frame }));
      if (early !== null) {
        const held = early;
        early = null;
        for (const later of held) {
          if (this.ws === ws) this.dispatchEvent(new CustomEvent("frame", { detail: later }));
        }
      }
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (event.code === CLOSE_UNAUTHORISED || event.code === CLOSE_NOT_FOUND) {
        this.finished = true;
        this.setState({ state: "closed", code: event.code });
        return;
      }
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    if (this.finished) return;
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    this.timer = window.setTimeout(() => this.connect(), delay);
    this.setState({ state: "waiting", retryIn: delay });
  }

  /** Skips the remaining backoff wait (network came back, tab became visible, user asked). */
  reconnectSoon() {
    if (this.finished || this.ws || this.timer === null) return;
    this.connect();
  }

  /** Drops the connection and opens a fresh one, which starts with a full history frame. */
  resync() {
    if (this.finished) return;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
    this.attempt = 0;
    this.connect();
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a frame; false when there is no open connection to send it on. */
  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  setState(detail) {
    this.state = detail.state;
    this.dispatchEvent(new CustomEvent("state", { detail }));
  }
}
