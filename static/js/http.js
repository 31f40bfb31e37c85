// Same-origin requests carrying the session cookie and Django's CSRF token.

export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "csrftoken") return decodeURIComponent(rest.join("="));
  }
  // The cookie may be missing (e.g. blocked); every page also has a token in a form.
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

function loginPath() {
  return document.body.dataset.loginUrl || "/accounts/login/";
}

// A request the server bounced to the login page "succeeds" with the login form; treat that
// as the failure it is.
function landedOnLogin(response) {
  try {
    return new URL(response.url).pathname === new URL(loginPath(), window.location.href).pathname;
  } catch {
    return false;
  }
}

export class HttpError extends Error {
  constructor(status, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
  }
}

/** POSTs form fields; resolves with the response, rejects with HttpError when it failed. */
export async function postForm(url, fields = {}, { signal } = {}) {
  const body = new URLSearchParams(fields);
  const response = await fetch(url, {
    method: "POST",
    body,
    signal,
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json, text/html;q=0.9" },
  });
  if (!response.ok || landedOnLogin(response)) throw new HttpError(response.status);
  return response;
}

/** GETs JSON; rejects with HttpError on a non-2xx answer or a non-JSON body. */
export async function getJSON(url, { signal } = {}) {
  const response = await fetch(url, {
    signal,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (!response.ok || landedOnLogin(response)) throw new HttpError(response.status);
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("json")) throw new HttpError(response.status, "not JSON");
  return response.json();
}
