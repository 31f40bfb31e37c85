// Small stroke icons built with DOM calls (no markup strings).
const SVG_NS = "http://www.w3.org/2000/svg";

const SHAPES = {
  copy: [
    ["rect", { x: 9, y: 9, width: 12, height: 12, rx: 2 }],
    ["path", { d: "M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1" }],
  ],
  check: [["path", { d: "M20 6 9 17l-5-5" }]],
  edit: [
    ["path", { d: "M12 20h9" }],
    ["path", { d: "M16.5 3.5a2.12 2.12 0 0 1 3 3L7 19l-4 1 1-4Z" }],
  ],
  regenerate: [
    ["path", { d: "M21 12a9 9 0 1 1-2.64-6.36" }],
    ["path", { d: "M21 3v6h-6" }],
  ],
  trash: [
    ["path", { d: "M3 6h18" }],
    ["path", { d: "M8 6V4h8v2" }],
    ["path", { d: "M19 6l-1 14H6L5 6" }],
  ],
  close: [
    ["path", { d: "M18 6 6 18" }],
    ["path", { d: "M6 6l12 12" }],
  ],
  alert: [
    ["circle", { cx: 12, cy: 12, r: 9 }],
    ["path", { d: "M12 8v5" }],
    ["path", { d: "M12 16.5v.01" }],
  ],
};

export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", className);
  for (const [tag, attributes] of SHAPES[name] || []) {
    const shape = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attributes)) shape.setAttribute(key, String(value));
    svg.append(shape);
  }
  return svg;
}

/** A button with an icon and a visually hidden (or visible) label. */
export function iconButton(name, label, { action, showLabel = false, className = "msg-action" } = {}) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  if (action) button.dataset.action = action;
  button.setAttribute("aria-label", label);
  button.title = label;
  button.append(icon(name));
  if (showLabel) {
    const text = document.createElement("span");
    text.dataset.role = "label";
    text.textContent = label;
    button.append(text);
  }
  return button;
}
