// The agents' desk: one page, no build step. Signs in with the authorization code flow and PKCE (S256)
// against the endpoints of config.json, keeps the tokens in this page's memory only (a reload signs in
// again), and talks to /desk/api with the ID token as bearer. Views (hash routes):
//   #/                         the inbox
//   #/c/<subject>              a conversation (reply, withdraw)
//   #/privacy/<subject>        the privacy officer's view of a person (proof, export, erasure)
//   #/privacy/audit[/<day>]    the audit trail by day
// Every text comes from config.json's catalogue texts (de, en, it); no markup is built from strings.

const POLL_MS = 10_000;
const TICK_MS = 15_000;
const PAGE_SIZE = 25;
const SUBJECT = /^[0-9a-f]{64}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const PENDING_KEY = "desk.signin"; // the PKCE verifier and state while the browser visits the sign-in page

const state = {
  config: null,
  language: "en",
  tokens: null, // {id, access, expires}: memory only
  me: null,
  inbox: { items: [], cursor: null, loaded: false },
  conversation: null,
  pollTimer: null,
  tickTimer: null,
  view: null,
};

const $ = (id) => document.getElementById(id);

// -- texts ------------------------------------------------------------------------------------

function t(key, values = {}) {
  const texts = (state.config && state.config.texts) || {};
  const table = texts[state.language] || texts.en || {};
  let text = table[`desk.${key}`] ?? table[key] ?? (texts.en || {})[`desk.${key}`] ?? key;
  for (const [name, value] of Object.entries(values)) text = text.split(`{${name}}`).join(String(value));
  return text;
}

function chooseLanguage() {
  const offered = Object.keys((state.config && state.config.texts) || {});
  for (const wanted of navigator.languages || [navigator.language || "en"]) {
    const code = String(wanted).slice(0, 2).toLowerCase();
    if (offered.includes(code)) return code;
  }
  return offered.includes("en") ? "en" : offered[0] || "en";
}

function purposeName(purpose) {
  const titles = ((state.config && state.config.purposes) || {})[purpose] || {};
  return titles[state.language] || titles.en || purpose.replaceAll("_", " ");
}

// -- DOM ----------------------------------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// replaceChildren without arrays or empty parts (null, undefined, false are left out).
function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

function announce(message) {
  const status = $("status");
  status.textContent = "";
  window.setTimeout(() => { status.textContent = message; }, 30); // a change the screen reader reads
}

function showAlert(message) {
  $("alert").textContent = message;
}

function clearAlert() {
  $("alert").textContent = "";
}

function formatTime(epoch) {
  if (epoch === null || epoch === undefined) return "–";
  return new Intl.DateTimeFormat(state.language, { dateStyle: "short", timeStyle: "short" }).format(new Date(epoch * 1000));
}

function formatDuration(seconds) {
  const minutes = Math.max(0, Math.floor(seconds / 60));
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? t("duration_hm", { hours, minutes: minutes % 60 }) : t("duration_m", { minutes });
}

function windowText(window_) {
  if (!window_ || !window_.applies) return t("window_not_applicable");
  if (window_.open && window_.closes_at) {
    return t("window_open_for", { duration: formatDuration(window_.closes_at - Date.now() / 1000) });
  }
  return window_.open ? t("window_open") : t("window_closed");
}

function windowBadge(window_) {
  const open = window_ && window_.applies && window_.open;
  return h("span", {
    class: `badge ${open ? "ok" : "off"}`,
    "data-testid": "window",
    "data-closes-at": window_ && window_.closes_at,
    text: windowText(window_),
  });
}

function purposeBadges(purposes) {
  const entries = Object.entries(purposes || {});
  if (!entries.length) return h("span", { class: "muted", text: t("no_purposes") });
  return h("ul", { class: "purposes", "aria-label": t("purposes") },
    entries.map(([purpose, status]) => h("li", {
      class: `badge ${status === "active" ? "ok" : "off"}`,
      "data-purpose": purpose,
      "data-status": status,
      text: `${purposeName(purpose)}: ${t(`purpose_status_${status}`)}`,
    })));
}

function refreshCountdowns() {
  for (const badge of document.querySelectorAll("[data-testid=window][data-closes-at]")) {
    const closes = Number(badge.dataset.closesAt);
    badge.textContent = closes * 1000 > Date.now()
      ? t("window_open_for", { duration: formatDuration(closes - Date.now() / 1000) })
      : t("window_closed");
  }
}

// -- sign-in: authorization code with PKCE (S256) -------------------------------------------------

function randomText(bytes) {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(data);
}

function base64url(bytes) {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

async function signIn() {
  const verifier = randomText(48);
  const stateValue = randomText(24);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  // The verifier must outlive the visit to the sign-in page; it is worth nothing without the code and
  // is removed as soon as the code is exchanged. The tokens themselves are never stored.
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state: stateValue, route: location.hash }));
  const url = new URL(state.config.authorize_url);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: state.config.client_id,
    redirect_uri: state.config.redirect_uri,
    scope: state.config.scopes,
    state: stateValue,
    code_challenge: base64url(digest),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

async function finishSignIn(params) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, "", location.pathname + ((pending && pending.route) || ""));
  if (!pending || params.get("state") !== pending.state) throw new Error(t("signin_state_mismatch"));
  const response = await fetch(state.config.token_url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: state.config.client_id,
      code: params.get("code"),
      redirect_uri: state.config.redirect_uri,
      code_verifier: pending.verifier,
    }),
    cache: "no-store",
    credentials: "omit",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.id_token) throw new Error(t("signin_failed"));
  state.tokens = { id: body.id_token, access: body.access_token, expires: Date.now() + (body.expires_in || 3600) * 1000 };
}

function signOut() {
  state.tokens = null;
  state.me = null;
  stopPolling();
  const url = new URL(state.config.logout_url); // Cognito's logout: client_id and logout_uri, when not given yet
  if (!url.searchParams.has("client_id")) url.searchParams.set("client_id", state.config.client_id);
  if (!url.searchParams.has("logout_uri")) url.searchParams.set("logout_uri", state.config.redirect_uri);
  location.assign(url.toString());
}

function forgetSession(message) {
  state.tokens = null;
  state.me = null;
  stopPolling();
  renderHeader();
  renderSignIn(message);
}

// -- the API ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, reason, refusal) {
    super(reason || `HTTP ${status}`);
    this.status = status;
    this.refusal = refusal || null;
  }
}

async function call(method, path, body) {
  const headers = { authorization: `Bearer ${state.tokens ? state.tokens.id : ""}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(new URL(`desk/api/${path}`, location.href), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new ApiError(response.status, data.error || data.message, data.refusal);
  }
  return response;
}

async function callJson(method, path, body) {
  const response = await call(method, path, body);
  return { status: response.status, data: await response.json() };
}

// What a failed call means in the page: signed out (401), not allowed (403), gone, or the API's reason.
function failure(error) {
  if (!(error instanceof ApiError)) return t("error_network");
  if (error.status === 403) return t("not_allowed");
  if (error.status === 404) return t("not_found");
  if (error.status === 410) return t("erased");
  if (error.refusal) return `${t(`refusal_${error.refusal}`)} (${error.message})`;
  return t("error_reason", { status: error.status, reason: error.message });
}

function handleFailure(error, where) {
  if (error instanceof ApiError && error.status === 401) {
    forgetSession(t("session_expired"));
    return;
  }
  const message = failure(error);
  if (where) {
    fill(where, h("p", { class: "error", "data-testid": "view-error", text: message }));
  }
  showAlert(message);
}

// -- header and navigation ------------------------------------------------------------------------

function renderHeader() {
  document.documentElement.lang = state.language;
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-text]")) node.textContent = t(node.dataset.text);
  $("language").value = state.language;
  $("user").textContent = state.me ? state.me.user : "";
  $("sign-out").hidden = !state.me;
  const nav = $("nav");
  nav.setAttribute("aria-label", t("navigation"));
  nav.replaceChildren();
  if (!state.me) return;
  const links = [h("a", { href: "#/", "data-testid": "nav-inbox", text: t("inbox") })];
  if (state.me.can && state.me.can.privacy) {
    links.push(h("a", { href: "#/privacy/audit", "data-testid": "nav-audit", text: t("audit") }));
  }
  nav.append(...links);
}

function setMain(title, ...content) {
  const main = $("main");
  const heading = h("h1", { id: "view-title", tabindex: "-1", text: title });
  fill(main, heading, ...content);
  return heading;
}

function focusView(heading) {
  heading.focus({ preventScroll: false });
}

// -- the signed-out view --------------------------------------------------------------------------

function renderSignIn(message) {
  const button = h("button", { type: "button", class: "primary", "data-testid": "sign-in", onclick: () => signIn().catch(() => showAlert(t("signin_failed"))) }, t("sign_in"));
  const heading = setMain(t("title"),
    message ? h("p", { class: "error", "data-testid": "signin-message", text: message }) : null,
    h("p", { text: t("signin_intro") }),
    button,
    h("p", { class: "muted", text: t("memory_only") }));
  if (message) showAlert(message);
  heading.focus();
}

// -- the inbox ------------------------------------------------------------------------------------

async function loadInbox(more = false) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (more && state.inbox.cursor) query.set("cursor", state.inbox.cursor);
  const { data } = await callJson("GET", `conversations?${query}`);
  if (more) {
    const known = new Set(state.inbox.items.map((c) => c.subject));
    state.inbox.items.push(...data.conversations.filter((c) => !known.has(c.subject)));
    state.inbox.cursor = data.next_cursor;
  } else {
    const fresh = new Set(data.conversations.map((c) => c.subject));
    const before = new Map(state.inbox.items.map((c) => [c.subject, c]));
    const rest = state.inbox.items.slice(data.conversations.length).filter((c) => !fresh.has(c.subject));
    const news = state.inbox.loaded
      ? data.conversations.filter((c) => c.last_inbound_at && (!before.has(c.subject) || (before.get(c.subject).last_inbound_at || 0) < c.last_inbound_at)).length
      : 0;
    state.inbox.items = [...data.conversations, ...rest];
    if (!state.inbox.loaded || state.inbox.items.length <= data.conversations.length) state.inbox.cursor = data.next_cursor;
    state.inbox.loaded = true;
    if (news) announce(t("new_messages", { count: news }));
  }
}

function conversationRow(conversation) {
  const privacy = state.me.can && state.me.can.privacy;
  const link = h("a", { href: `#/c/${conversation.subject}`, "data-testid": "open-conversation", text: conversation.alias });
  return h("li", { class: "conversation", "data-testid": "conversation", "data-subject": conversation.subject, "data-alias": conversation.alias },
    h("div", { class: "line" },
      h("strong", { class: "alias" }, link),
      h("span", { class: "channel", text: conversation.channel }),
      conversation.unanswered ? h("span", { class: "badge warn", "data-testid": "unanswered", text: t("unanswered") }) : null,
      h("span", { class: "time", text: t("last_activity", { time: formatTime(conversation.last_activity) }) })),
    h("div", { class: "line" }, purposeBadges(conversation.purposes), windowBadge(conversation.window)),
    privacy ? h("a", { href: `#/privacy/${conversation.subject}`, class: "secondary", "data-testid": "open-privacy", text: t("privacy_view") }) : null);
}

function renderInboxList(container) {
  // A poll re-renders the list: the focus stays on the same control of the same conversation.
  const focused = container.contains(document.activeElement) ? document.activeElement : null;
  const focusedRow = focused && focused.closest("[data-subject]");
  const refocus = focused && { subject: focusedRow && focusedRow.dataset.subject, testId: focused.dataset.testid };
  const items = state.inbox.items;
  const list = items.length
    ? h("ul", { class: "conversations", "data-testid": "conversations" }, items.map(conversationRow))
    : h("p", { class: "muted", "data-testid": "inbox-empty", text: t("inbox_empty") });
  const more = state.inbox.cursor
    ? h("button", { type: "button", "data-testid": "more", onclick: async (event) => {
        const count = state.inbox.items.length;
        event.currentTarget.disabled = true;
        try {
          await loadInbox(true);
          renderInboxList(container);
          const first = container.querySelectorAll("[data-testid=open-conversation]")[count];
          if (first) first.focus();
          announce(t("more_loaded", { count: state.inbox.items.length - count }));
        } catch (error) {
          handleFailure(error);
        }
      } }, t("more"))
    : null;
  fill(container, list, more);
  if (refocus) {
    const row = refocus.subject ? container.querySelector(`[data-subject="${refocus.subject}"]`) : container;
    const target = row && row.querySelector(`[data-testid="${refocus.testId}"]`);
    if (target) target.focus();
  }
}

async function showInbox() {
  const container = h("div", { "data-testid": "inbox" });
  const heading = setMain(t("inbox"), container);
  focusView(heading);
  try {
    await loadInbox();
    renderInboxList(container);
  } catch (error) {
    handleFailure(error, container);
    return;
  }
  startPolling(async () => {
    const before = JSON.stringify([state.inbox.items, state.inbox.cursor]);
    await loadInbox();
    if (state.view === "inbox" && JSON.stringify([state.inbox.items, state.inbox.cursor]) !== before) renderInboxList(container);
  });
}

// -- a conversation -------------------------------------------------------------------------------

function messageItem(message) {
  const parts = [];
  if (message.hidden) {
    parts.push(h("p", { class: "hidden-note", "data-testid": "hidden-note", text: t(`hidden_${message.hidden}`) }));
  } else if (message.media) {
    const size = message.media.size ? t("media_size", { kb: Math.max(1, Math.round(message.media.size / 1024)) }) : "";
    parts.push(h("p", { class: "media", "data-testid": "media", text: t("media", { type: message.media.type, mime: message.media.mime_type || "?", size }) }));
  }
  if (message.template) parts.push(h("p", { class: "template-name", text: t("template_sent", { name: message.template }) }));
  if (message.text && !message.hidden) parts.push(h("p", { class: "text", text: message.text }));
  const meta = [formatTime(message.at), t(`direction_${message.direction}`)];
  if (message.status) meta.push(t(`status_${message.status}`));
  return h("li", { class: `message ${message.direction}`, "data-testid": `message-${message.direction}`, "data-status": message.status },
    h("p", { class: "meta", text: meta.join(" · ") }), parts);
}

function renderMessages(container, messages) {
  fill(container, messages.length
    ? h("ol", { class: "messages", "aria-label": t("messages") }, messages.map(messageItem))
    : h("p", { class: "muted", text: t("no_messages") }));
}

function replyStatus(testId = "reply-status") {
  return h("p", { class: "reply-status", "data-testid": testId, "aria-live": "polite" });
}

function newReplyId() {
  return randomText(12);
}

// Sends a reply; ``selector`` finds the form's status line again once the reply box was re-rendered.
async function sendReply(subject, body, statusNode, selector, after) {
  statusNode.textContent = t("sending");
  statusNode.className = "reply-status";
  const form = statusNode.closest("form");
  const button = form && form.querySelector("button[type=submit]");
  if (button) button.disabled = true; // one send at a time: no double reply from a double click
  try {
    const { status, data } = await callJson("POST", `conversations/${subject}/replies`, body);
    const message = status === 200 ? t("reply_sent_before") : t("reply_queued");
    statusNode.textContent = message;
    announce(message);
    clearAlert();
    after(data);
    await refreshConversation(subject, true);
    const current = document.contains(statusNode) ? statusNode : document.querySelector(selector);
    if (current) current.textContent = message;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return handleFailure(error);
    statusNode.textContent = failure(error);
    statusNode.className = "reply-status error";
    showAlert(statusNode.textContent);
  } finally {
    if (button) button.disabled = false;
  }
}

function textReplyForm(subject) {
  const status = replyStatus();
  const text = h("textarea", { id: "reply-text", name: "text", rows: "4", "data-testid": "reply-text", "aria-describedby": "reply-count" });
  const count = h("span", { id: "reply-count", class: "muted", text: t("characters", { count: 0 }) });
  text.addEventListener("input", () => { count.textContent = t("characters", { count: text.value.length }); });
  let replyId = newReplyId(); // the same id for retries of one reply: it is sent once
  text.addEventListener("input", () => { replyId = newReplyId(); });
  const form = h("form", { class: "reply", "data-testid": "reply-form", onsubmit: (event) => {
      event.preventDefault();
      if (!text.value.trim()) { status.textContent = t("reply_empty"); return; }
      sendReply(subject, { text: text.value, reply_id: replyId }, status, "form.reply [data-testid=reply-status]", () => { text.value = ""; count.textContent = t("characters", { count: 0 }); replyId = newReplyId(); });
    } },
    h("label", { for: "reply-text", text: t("reply_label") }),
    text,
    h("div", { class: "actions" }, count, h("button", { type: "submit", class: "primary", "data-testid": "send-reply" }, t("send"))),
    status);
  // Ctrl/Cmd+Enter sends, Enter alone makes a new line.
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); }
  });
  return form;
}

function templateForm(subject, template, index) {
  const status = replyStatus("template-status");
  const fields = [];
  for (let i = 0; i < template.parameters; i += 1) {
    const id = `template-${index}-parameter-${i}`;
    fields.push(h("div", { class: "field" },
      h("label", { for: id, text: t("template_parameter", { number: i + 1 }) }),
      h("input", { id, type: "text", name: `parameter-${i}`, "data-testid": "template-parameter", autocomplete: "off" })));
  }
  const refusalId = `template-${index}-refusal`;
  const refusal = template.allowed ? null : h("p", { id: refusalId, class: "refusal", "data-testid": "template-refusal", text: t(`refusal_${template.refusal || "purpose_not_consented"}`) });
  const legend = h("legend", { text: `${template.name} (${template.language})` });
  const describe = h("p", { class: "muted", text: t("template_about", { category: template.category, purpose: template.purpose ? purposeName(template.purpose) : "–" }) });
  const form = h("form", { class: "template", "data-testid": "template", "data-template": template.name, "data-allowed": String(template.allowed), onsubmit: (event) => {
      event.preventDefault();
      const parameters = [...form.querySelectorAll("input[name^=parameter-]")].map((input) => input.value);
      const where = `[data-testid=template][data-template="${template.name}"] [data-testid=template-status]`;
      sendReply(subject, { template: { name: template.name, parameters }, reply_id: newReplyId() }, status, where, () => {
        for (const input of form.querySelectorAll("input")) input.value = "";
      });
    } },
    h("fieldset", {}, legend, describe, fields, refusal,
      h("button", { type: "submit", "data-testid": "send-template", disabled: !template.allowed, "aria-describedby": refusal ? refusalId : null }, t("send_template"))),
    status);
  return form;
}

function renderReply(container, conversation) {
  const reply = conversation.reply;
  const parts = [h("h2", { id: "reply-title", text: t("reply") })];
  if (!state.me.can || !state.me.can.reply) {
    parts.push(h("p", { class: "muted", text: t("read_only") }));
  } else if (reply.text_allowed) {
    parts.push(textReplyForm(conversation.subject));
  } else {
    parts.push(h("p", { class: "refusal", "data-testid": "reply-refusal", "data-refusal": reply.refusal, text: t(`refusal_${reply.refusal}`) }));
  }
  if (state.me.can && state.me.can.reply && reply.templates && reply.templates.length) {
    parts.push(h("h3", { text: reply.text_allowed ? t("templates_too") : t("templates_only") }));
    parts.push(h("div", { class: "templates", "data-testid": "templates" }, reply.templates.map((template, index) => templateForm(conversation.subject, template, index))));
  }
  fill(container, ...parts);
}

function withdrawDialog(conversation, opener) {
  const active = Object.entries(conversation.purposes || {}).filter(([, status]) => status === "active").map(([purpose]) => purpose);
  const status = h("p", { class: "reply-status", "aria-live": "polite", "data-testid": "withdraw-status" });
  const choices = active.map((purpose) => h("div", { class: "field check" },
    h("input", { type: "checkbox", id: `withdraw-${purpose}`, value: purpose, "data-testid": `withdraw-${purpose}` }),
    h("label", { for: `withdraw-${purpose}`, text: purposeName(purpose) })));
  const everything = h("div", { class: "field check" },
    h("input", { type: "checkbox", id: "withdraw-all", value: "all", "data-testid": "withdraw-all" }),
    h("label", { for: "withdraw-all", text: t("withdraw_all") }));
  const form = h("form", { method: "dialog", onsubmit: async (event) => {
      event.preventDefault();
      const all = form.querySelector("#withdraw-all").checked;
      const chosen = [...form.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value).filter((v) => v !== "all");
      if (!all && !chosen.length) { status.textContent = t("withdraw_choose"); return; }
      try {
        const { data } = await callJson("POST", `conversations/${conversation.subject}/withdrawals`, { purposes: all ? "all" : chosen, confirm: true });
        closeDialog();
        announce(t("withdrawn", { purposes: (data.withdrawn || []).map(purposeName).join(", ") || "–" }));
        await refreshConversation(conversation.subject, true);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) { closeDialog(); return handleFailure(error); }
        status.textContent = failure(error);
      }
    } },
    h("fieldset", {}, h("legend", { text: t("withdraw_which") }), choices, everything),
    h("p", { text: t("withdraw_warning", { alias: conversation.alias }) }),
    status,
    h("div", { class: "actions" },
      h("button", { type: "button", "data-testid": "dialog-cancel", onclick: () => closeDialog() }, t("cancel")),
      h("button", { type: "submit", class: "danger", "data-testid": "withdraw-confirm" }, t("withdraw_confirm"))));
  openDialog(t("withdraw_title", { alias: conversation.alias }), form, opener);
}

async function refreshConversation(subject, force = false) {
  const { data } = await callJson("GET", `conversations/${subject}`);
  const view = state.conversation;
  if (!view || view.subject !== subject) return;
  const before = view.data;
  view.data = data;
  if (force || JSON.stringify(before.messages) !== JSON.stringify(data.messages)) {
    renderMessages(view.messages, data.messages);
    const inboundCount = (messages) => messages.filter((m) => m.direction === "in").length;
    const inbound = inboundCount(data.messages) - inboundCount(before.messages);
    if (!force && inbound > 0) announce(t("new_messages_here", { count: inbound }));
  }
  fill(view.header, ...conversationFacts(data));
  if (force || JSON.stringify(before.reply) !== JSON.stringify(data.reply)) {
    const typing = view.reply.querySelector("#reply-text");
    const kept = typing ? typing.value : "";
    const hadFocus = view.reply.contains(document.activeElement) ? document.activeElement.id : null;
    const shown = view.reply.querySelector("form.reply [data-testid=reply-status]");
    const lastStatus = shown ? { text: shown.textContent, cls: shown.className } : null;
    renderReply(view.reply, data);
    const again = view.reply.querySelector("#reply-text");
    if (again && kept && !force) again.value = kept;
    const status = view.reply.querySelector("form.reply [data-testid=reply-status]");
    if (status && lastStatus) { status.textContent = lastStatus.text; status.className = lastStatus.cls; }
    if (!status && lastStatus && lastStatus.text) {
      view.reply.append(h("p", { class: lastStatus.cls, "data-testid": "reply-status", text: lastStatus.text }));
    }
    if (hadFocus && $(hadFocus)) $(hadFocus).focus();
    if (!force && before.reply.text_allowed && !data.reply.text_allowed) announce(t(`refusal_${data.reply.refusal}`));
  }
}

function conversationFacts(data) {
  return [
    h("span", { class: "channel", text: data.channel }),
    purposeBadges(data.purposes),
    windowBadge(data.window),
  ];
}

async function showConversation(subject) {
  const heading = setMain(t("conversation_loading"));
  focusView(heading);
  let data;
  try {
    data = (await callJson("GET", `conversations/${subject}`)).data;
  } catch (error) {
    heading.textContent = t("conversation");
    handleFailure(error, $("main").appendChild(h("div")));
    return;
  }
  heading.textContent = t("conversation_with", { alias: data.alias });
  const header = h("div", { class: "facts", "data-testid": "facts" }, conversationFacts(data));
  const messages = h("section", { class: "history", "aria-labelledby": "history-title", "data-testid": "messages" });
  const reply = h("section", { class: "reply-box", "aria-labelledby": "reply-title", "data-testid": "reply" });
  const tools = h("div", { class: "tools" },
    h("a", { href: "#/", text: t("back_to_inbox") }));
  if (state.me.can && state.me.can.withdraw) {
    const withdraw = h("button", { type: "button", class: "danger", "data-testid": "withdraw", onclick: () => withdrawDialog(state.conversation.data, withdraw) }, t("withdraw"));
    tools.append(withdraw);
  }
  if (state.me.can && state.me.can.privacy) {
    tools.append(h("a", { href: `#/privacy/${subject}`, "data-testid": "open-privacy", text: t("privacy_view") }));
  }
  $("main").append(header, tools, h("h2", { id: "history-title", text: t("messages") }), messages, reply);
  state.conversation = { subject, data, header, messages, reply };
  renderMessages(messages, data.messages);
  renderReply(reply, data);
  startPolling(() => refreshConversation(subject));
}

// -- the privacy officer's view --------------------------------------------------------------------

function ledgerTable(entries) {
  const columns = ["seq", "at", "event", "purpose", "notice_version", "source", "hash"];
  return h("table", { class: "ledger", "data-testid": "ledger" },
    h("caption", { text: t("ledger") }),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", text: t(`column_${c}`) })))),
    h("tbody", {}, entries.map((entry) => h("tr", {}, columns.map((c) => h("td", {
      class: c === "hash" ? "hash" : null,
      text: c === "at" ? formatTime(entry.at) : entry[c] ?? "–",
    }))))));
}

async function download(subject, alias) {
  const response = await call("GET", `privacy/subjects/${subject}/export`);
  const disposition = response.headers.get("content-disposition") || "";
  const found = /filename="?([^";]+)"?/.exec(disposition);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: found ? found[1] : `export-${alias}.json`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function eraseDialog(subject, alias, opener) {
  const status = h("p", { class: "reply-status", "aria-live": "polite", "data-testid": "erase-status" });
  const input = h("input", { id: "erase-confirm-alias", type: "text", autocomplete: "off", spellcheck: "false", "data-testid": "erase-alias" });
  const confirm = h("button", { type: "submit", class: "danger", "data-testid": "erase-confirm", disabled: true }, t("erase_confirm"));
  input.addEventListener("input", () => { confirm.disabled = input.value.trim() !== alias; });
  const form = h("form", { method: "dialog", onsubmit: async (event) => {
      event.preventDefault();
      if (input.value.trim() !== alias) { status.textContent = t("erase_type_alias", { alias }); return; }
      try {
        const { data } = await callJson("DELETE", `privacy/subjects/${subject}`, { confirm: input.value.trim() });
        closeDialog();
        showErased(alias, data);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) { closeDialog(); return handleFailure(error); }
        status.textContent = failure(error);
      }
    } },
    h("p", { text: t("erase_warning") }),
    h("label", { for: "erase-confirm-alias", text: t("erase_type_alias", { alias }) }),
    input,
    status,
    h("div", { class: "actions" },
      h("button", { type: "button", "data-testid": "dialog-cancel", onclick: () => closeDialog() }, t("cancel")),
      confirm));
  openDialog(t("erase_title", { alias }), form, opener);
}

function showErased(alias, receipt) {
  stopPolling();
  state.inbox = { items: [], cursor: null, loaded: false };
  const heading = setMain(t("erased_title", { alias }),
    h("p", { "data-testid": "erasure-done", text: t("erased_done", { alias }) }),
    h("pre", { class: "receipt", "data-testid": "erasure-receipt", text: JSON.stringify(receipt, null, 2) }),
    h("a", { href: "#/", text: t("back_to_inbox") }));
  announce(t("erased_done", { alias }));
  focusView(heading);
}

async function showPrivacySubject(subject) {
  const heading = setMain(t("privacy_view"));
  focusView(heading);
  const body = $("main").appendChild(h("div", { "data-testid": "privacy" }));
  let proof;
  try {
    proof = (await callJson("GET", `privacy/subjects/${subject}/proof`)).data;
  } catch (error) {
    handleFailure(error, body);
    return;
  }
  heading.textContent = t("privacy_of", { alias: proof.alias });
  const verified = proof.ledger.verified;
  const exportStatus = h("p", { class: "reply-status", "aria-live": "polite", "data-testid": "export-status" });
  const exportButton = h("button", { type: "button", "data-testid": "export", onclick: async () => {
      exportStatus.textContent = t("exporting");
      try {
        await download(subject, proof.alias);
        exportStatus.textContent = t("exported");
        announce(t("exported"));
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return handleFailure(error);
        exportStatus.textContent = failure(error);
      }
    } }, t("export"));
  const eraseButton = h("button", { type: "button", class: "danger", "data-testid": "erase", onclick: () => eraseDialog(subject, proof.alias, eraseButton) }, t("erase"));
  fill(body,
    h("div", { class: "tools" }, h("a", { href: `#/c/${subject}`, text: t("conversation") }), exportButton, eraseButton),
    exportStatus,
    h("h2", { text: t("consent_proof") }),
    purposeBadges(proof.purposes),
    h("p", { class: `badge ${verified ? "ok" : "warn"}`, "data-testid": "ledger-verified", "data-verified": String(verified), text: verified ? t("ledger_verified") : t("ledger_broken") }),
    ledgerTable(proof.ledger.entries),
    h("h2", { text: t("notices") }),
    proof.notices.map((notice) => h("details", { class: "notice", "data-testid": "notice" },
      h("summary", { text: t("notice_version", { version: notice.version, language: notice.language }) }),
      h("pre", { class: "notice-text", tabindex: "0", "aria-label": t("notice_version", { version: notice.version, language: notice.language }), text: notice.text }))));
}

async function showAudit(day) {
  const today = new Date().toISOString().slice(0, 10);
  const chosen = day || today;
  const input = h("input", { id: "audit-day", type: "date", value: chosen, "data-testid": "audit-day" });
  const results = h("div", { "data-testid": "audit" });
  const form = h("form", { class: "inline", onsubmit: (event) => {
      event.preventDefault();
      if (DAY.test(input.value)) location.hash = `#/privacy/audit/${input.value}`;
    } },
    h("label", { for: "audit-day", text: t("audit_day") }), input,
    h("button", { type: "submit", "data-testid": "audit-show" }, t("show")));
  const heading = setMain(t("audit_of", { day: chosen }), form, results);
  focusView(heading);
  try {
    const { data } = await callJson("GET", `privacy/audit/${chosen}`);
    const columns = ["at", "actor", "action", "subject_ref", "status"];
    fill(results, data.entries.length
      ? h("table", { class: "audit", "data-testid": "audit-entries" },
        h("caption", { text: t("audit_of", { day: data.day }) }),
        h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", text: t(`column_${c}`) })))),
        h("tbody", {}, data.entries.map((entry) => h("tr", { "data-action": entry.action }, columns.map((c) => h("td", {
          class: c === "subject_ref" ? "hash" : null,
          text: c === "at" ? formatTime(entry.at) : entry[c] ?? "–",
        }))))))
      : h("p", { class: "muted", text: t("audit_empty") }));
  } catch (error) {
    handleFailure(error, results);
  }
}

// -- dialogs --------------------------------------------------------------------------------------

let dialogOpener = null;

function openDialog(title, content, opener) {
  const dialog = $("dialog");
  dialogOpener = opener || document.activeElement;
  fill(dialog, h("h2", { id: "dialog-title", text: title }), content);
  dialog.showModal(); // modal: Escape closes it (the cancel event), focus stays inside
  const first = dialog.querySelector("input, textarea, select, button");
  if (first) first.focus();
}

function closeDialog() {
  const dialog = $("dialog");
  if (dialog.open) dialog.close();
}

function wireDialog() {
  $("dialog").addEventListener("close", () => {
    $("dialog").replaceChildren();
    if (dialogOpener && document.contains(dialogOpener)) dialogOpener.focus();
    dialogOpener = null;
  });
}

// -- routing and polling ------------------------------------------------------------------------------

function stopPolling() {
  if (state.pollTimer) window.clearInterval(state.pollTimer);
  state.pollTimer = null;
}

function startPolling(poll) {
  stopPolling();
  let busy = false;
  state.pollTimer = window.setInterval(async () => {
    if (busy || !state.tokens) return;
    busy = true;
    try {
      await poll();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) handleFailure(error);
    } finally {
      busy = false;
    }
  }, POLL_MS);
}

async function route() {
  stopPolling();
  closeDialog();
  clearAlert();
  state.conversation = null;
  if (!state.tokens) return renderSignIn();
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "c" && SUBJECT.test(parts[1] || "")) {
    state.view = "conversation";
    return showConversation(parts[1]);
  }
  if (parts[0] === "privacy" && parts[1] === "audit" && (!parts[2] || DAY.test(parts[2]))) {
    state.view = "audit";
    return showAudit(parts[2]);
  }
  if (parts[0] === "privacy" && SUBJECT.test(parts[1] || "")) {
    state.view = "privacy";
    return showPrivacySubject(parts[1]);
  }
  if (parts.length) {
    const heading = setMain(t("not_found"), h("a", { href: "#/", text: t("back_to_inbox") }));
    return focusView(heading);
  }
  state.view = "inbox";
  return showInbox();
}

async function start() {
  wireDialog();
  $("sign-out").addEventListener("click", signOut);
  $("language").addEventListener("change", () => {
    state.language = $("language").value;
    renderHeader();
    route();
    announce(t("language_changed"));
  });
  window.addEventListener("hashchange", () => route());
  try {
    const response = await fetch(new URL("desk/config.json", location.href), { cache: "no-store", credentials: "omit" });
    if (!response.ok) throw new Error("config");
    state.config = await response.json();
  } catch (error) {
    $("main").replaceChildren(h("p", { class: "error", role: "alert", text: "The desk's configuration could not be loaded." }));
    return;
  }
  state.language = chooseLanguage();
  renderHeader();
  const params = new URLSearchParams(location.search);
  if (params.has("code") || params.has("error")) {
    try {
      if (params.has("error")) throw new Error(t("signin_failed"));
      await finishSignIn(params);
      state.me = (await callJson("GET", "me")).data;
    } catch (error) {
      history.replaceState(null, "", location.pathname + location.hash);
      state.tokens = null;
      renderHeader();
      return renderSignIn(error instanceof ApiError ? failure(error) : error.message);
    }
    renderHeader();
    announce(t("signed_in", { user: state.me.user }));
  }
  state.tickTimer = window.setInterval(refreshCountdowns, TICK_MS);
  await route();
}

start();
