// The staff spend pages: the period form (a preset reloads at once; a date range waits for
// its two days) and the daily spend chart, drawn from the figures the page rendered as JSON.
import "../vendor/chartjs/chart.umd.min.js"; // UMD build: defines globalThis.Chart
import { readJSON } from "./i18n.js";

const RANGE = "range";

function initPeriodForm(form) {
  const select = form.querySelector("[data-period-select]");
  const rangeFields = form.querySelectorAll("[data-range-field]");
  const showRange = () => {
    const isRange = select.value === RANGE;
    for (const field of rangeFields) {
      field.hidden = !isRange;
      for (const input of field.querySelectorAll("input")) input.disabled = !isRange;
    }
  };
  showRange();
  select.addEventListener("change", () => {
    showRange();
    if (select.value !== RANGE) form.requestSubmit();
  });
  form.dataset.ready = "true"; // a preset now applies as soon as it is chosen
}

function cssColour(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

// Days arrive as local calendar days ("2026-11-26"): format them as dates, not instants, so no
// time zone can move them to a neighbouring day.
function dayLabel(iso, formatter) {
  return formatter.format(new Date(`${iso}T00:00:00Z`));
}

function yuan(value, language) {
  const amount = Number(value);
  const digits = amount !== 0 && Math.abs(amount) < 0.01 ? 6 : 2;
  return `¥${amount.toLocaleString(language, { minimumFractionDigits: 2, maximumFractionDigits: digits })}`;
}

function initChart(canvas, data) {
  if (!data || !globalThis.Chart) return null;
  const language = document.documentElement.lang || undefined;
  const formatter = new Intl.DateTimeFormat(language, { month: "short", day: "numeric", timeZone: "UTC" });
  const accent = cssColour("--accent", "#3d5af1");
  const text = cssColour("--muted", "#6b7280");
  const grid = cssColour("--border", "#e3e5ea");
  return new globalThis.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.days.map((day) => dayLabel(day, formatter)),
      datasets: [
        {
          label: canvas.dataset.labelCost,
          data: data.costs.map(Number),
          backgroundColor: accent,
          borderRadius: 3,
          maxBarThickness: 28,
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => {
              const calls = data.calls[item.dataIndex];
              return `${yuan(data.costs[item.dataIndex], language)} · ${canvas.dataset.labelCalls}: ${calls}`;
            },
          },
        },
      },
      scales: {
        x: { ticks: { color: text, maxRotation: 0, autoSkip: true }, grid: { display: false } },
        y: {
          beginAtZero: true,
          ticks: { color: text, callback: (value) => yuan(value, language) },
          grid: { color: grid },
        },
      },
    },
  });
}

const form = document.getElementById("spend-period");
if (form) initPeriodForm(form);

const canvas = document.getElementById("spend-chart");
if (canvas) initChart(canvas, readJSON("spend-chart-data"));
