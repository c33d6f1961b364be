// The pupil's side of the LINE emulator: a small chat page driven by /emulator/ JSON.
// All text from people (pupil or bot) is put on the page with textContent, never as HTML.
"use strict";

(function () {
  const DESK_LABELS = { youth: "こども相談", resident: "くらしの相談" };
  const STORAGE_KEY = "koe-line-emulator-users";
  const POLL_MS = 1000;
  // How close to the end of the chat (px) still counts as "reading the newest messages".
  const NEAR_BOTTOM_PX = 80;
  // Web addresses and hyphenated phone numbers become links, as in LINE.
  const LINK_PATTERN = /(https?:\/\/[^\s<>"'（）「」、。]+)|((?<!\d)0\d{1,4}(?:-\d{1,5}){1,2}(?!\d))/g;
  const SVG_NS = "http://www.w3.org/2000/svg";

  const el = (id) => document.getElementById(id);
  const deskSwitch = el("desk-switch");
  const chatName = el("chat-name");
  const chatStatus = el("chat-status");
  const startScreen = el("start-screen");
  const startButton = el("start-button");
  const startNote = el("start-note");
  const chatLog = el("chat-log");
  const blockedNote = el("blocked-note");
  const quickReplies = el("quick-replies");
  const composer = el("composer");
  const textInput = el("text-input");
  const sendButton = el("send-button");
  const stickerButton = el("sticker-button");
  const imageButton = el("image-button");
  const accountTools = el("account-tools");
  const blockButton = el("block-button");
  const unblockButton = el("unblock-button");
  const restartButton = el("restart-button");
  const devStatus = el("dev-status");
  const toast = el("toast");

  let desks = [];
  let desk = null;
  let users = loadUsers();
  let lastRendered = "";
  let lastChat = null;
  let dismissedQuickReplyFor = null;
  let polling = false;
  let busy = false;
  let toastTimer = null;
  let stickToBottom = true;

  function loadUsers() {
    try {
      const parsed = JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}");
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch (_error) {
      return {};
    }
  }

  function saveUsers() {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(users));
    } catch (_error) {
      // Private browsing may refuse storage; the page still works for this visit.
    }
  }

  function deskLabel(name) {
    return DESK_LABELS[name] || name;
  }

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // A small drawing (no emoji, so nothing depends on an emoji font being installed).
  function drawing(viewBox, shapes) {
    const root = document.createElementNS(SVG_NS, "svg");
    root.setAttribute("viewBox", viewBox);
    root.setAttribute("aria-hidden", "true");
    root.setAttribute("focusable", "false");
    for (const [tag, attributes] of shapes) {
      const shape = document.createElementNS(SVG_NS, tag);
      for (const [name, value] of Object.entries(attributes)) shape.setAttribute(name, String(value));
      root.appendChild(shape);
    }
    return root;
  }

  const LINE_ART = { fill: "none", stroke: "currentColor", "stroke-width": 1.8, "stroke-linejoin": "round" };
  const ICONS = {
    image: [
      ["rect", { x: 3, y: 4, width: 18, height: 16, rx: 2, ...LINE_ART }],
      ["circle", { cx: 9, cy: 10, r: 2, ...LINE_ART }],
      ["polyline", { points: "3,18 9,13 13,16 16,13 21,17", ...LINE_ART }],
    ],
    video: [
      ["rect", { x: 3, y: 5, width: 18, height: 14, rx: 2, ...LINE_ART }],
      ["polygon", { points: "10,9 15,12 10,15", fill: "currentColor" }],
    ],
    audio: [
      ["path", { d: "M9 18V6l10-2v12", ...LINE_ART }],
      ["circle", { cx: 7, cy: 18, r: 2, ...LINE_ART }],
      ["circle", { cx: 17, cy: 16, r: 2, ...LINE_ART }],
    ],
    file: [
      ["path", { d: "M6 3h8l4 4v14H6z", ...LINE_ART }],
      ["path", { d: "M14 3v4h4", ...LINE_ART }],
    ],
    location: [
      ["path", { d: "M12 21s-6-6-6-11a6 6 0 0 1 12 0c0 5-6 11-6 11z", ...LINE_ART }],
      ["circle", { cx: 12, cy: 10, r: 2, ...LINE_ART }],
    ],
    message: [["path", { d: "M4 5h16v11H9l-4 4v-4H4z", ...LINE_ART }]],
  };

  // The emulator has no sticker images, so every sticker is this little bear.
  function stickerDrawing() {
    const ink = "#3a2a20";
    return drawing("0 0 100 100", [
      ["circle", { cx: 24, cy: 26, r: 14, fill: "#c98a56" }],
      ["circle", { cx: 76, cy: 26, r: 14, fill: "#c98a56" }],
      ["circle", { cx: 24, cy: 26, r: 7, fill: "#f1c9a5" }],
      ["circle", { cx: 76, cy: 26, r: 7, fill: "#f1c9a5" }],
      ["circle", { cx: 50, cy: 56, r: 36, fill: "#d99a63" }],
      ["ellipse", { cx: 50, cy: 69, rx: 15, ry: 11, fill: "#f6dcc2" }],
      ["circle", { cx: 37, cy: 51, r: 4, fill: ink }],
      ["circle", { cx: 63, cy: 51, r: 4, fill: ink }],
      ["circle", { cx: 27, cy: 64, r: 5, fill: "#f2a7a0" }],
      ["circle", { cx: 73, cy: 64, r: 5, fill: "#f2a7a0" }],
      ["ellipse", { cx: 50, cy: 64, rx: 5, ry: 3.5, fill: ink }],
      ["path", { d: "M44 71q6 6 12 0", fill: "none", stroke: ink, "stroke-width": 2.5, "stroke-linecap": "round" }],
    ]);
  }

  function showToast(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, 4000);
  }

  async function api(method, path, body) {
    const options = { method, headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try {
      data = await response.json();
    } catch (_error) {
      data = null;
    }
    return { ok: response.ok, status: response.status, data };
  }

  function timeLabel(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    return date.toLocaleTimeString("ja-JP", { hour: "2-digit", minute: "2-digit" });
  }

  // ---- desks ---------------------------------------------------------------------------

  function renderDeskSwitch() {
    deskSwitch.replaceChildren();
    for (const name of desks) {
      const button = make("button", "", deskLabel(name));
      button.type = "button";
      button.setAttribute("aria-pressed", String(name === desk));
      button.addEventListener("click", () => selectDesk(name));
      deskSwitch.appendChild(button);
    }
  }

  function selectDesk(name) {
    desk = name;
    lastRendered = "";
    lastChat = null;
    dismissedQuickReplyFor = null;
    stickToBottom = true;
    chatName.textContent = deskLabel(name);
    renderDeskSwitch();
    startNote.textContent = "";
    devStatus.textContent = "";
    // Nothing of the other desk's chat may stay on screen until the first poll answers.
    chatLog.replaceChildren();
    quickReplies.hidden = true;
    blockedNote.hidden = true;
    chatStatus.textContent = "";
    if (users[desk]) {
      showChat();
      poll();
    } else {
      showStart();
    }
  }

  function showStart() {
    startScreen.hidden = false;
    chatLog.hidden = true;
    composer.hidden = true;
    accountTools.hidden = true;
    quickReplies.hidden = true;
    blockedNote.hidden = true;
    chatStatus.textContent = "";
    startButton.disabled = false;
  }

  function showChat() {
    startScreen.hidden = true;
    chatLog.hidden = false;
    composer.hidden = false;
    accountTools.hidden = false;
  }

  // ---- sending -------------------------------------------------------------------------

  async function send(action) {
    if (!desk || !users[desk]) return null;
    const result = await api("POST", "/emulator/send", { desk, user_id: users[desk], ...action });
    if (!result.ok) {
      showToast("送れませんでした。エミュレーターの応答: " + result.status);
      return null;
    }
    const delivery = result.data;
    if (delivery.status === null) {
      devStatus.textContent = "Koe に届きませんでした";
      showToast("Koe に届きませんでした（" + (delivery.error || "接続できません") + "）。Koe が起動しているか確かめてください。");
    } else {
      devStatus.textContent = "Koe の応答: " + delivery.status + "（" + Math.round(delivery.latency_ms) + " ms）";
      if (delivery.status >= 300) {
        showToast("Koe が " + delivery.status + " を返しました。");
      }
    }
    await poll();
    return delivery;
  }

  async function startAsNewUser() {
    if (!desk) return;
    startButton.disabled = true;
    const created = await api("POST", "/emulator/users", { desk });
    if (!created.ok) {
      startButton.disabled = false;
      showToast("利用者を作れませんでした。");
      return;
    }
    users[desk] = created.data.user_id;
    saveUsers();
    lastRendered = "";
    showChat();
    await send({ type: "follow" });
  }

  async function sendText() {
    const text = textInput.value;
    if (!text.trim() || busy) return;
    busy = true;
    textInput.value = "";
    autoGrow();
    try {
      await send({ type: "text", text });
    } finally {
      busy = false;
      textInput.focus();
    }
  }

  function onQuickReply(button, messageId) {
    dismissedQuickReplyFor = messageId;
    quickReplies.hidden = true;
    if (button.type === "postback") {
      const action = { type: "postback", data: button.data || "" };
      const shown = button.display_text || button.text;
      if (shown) action.display_text = shown;
      send(action);
    } else if (button.type === "message") {
      send({ type: "text", text: button.text || button.label });
    } else if (button.type === "uri" && /^https?:\/\//.test(button.uri || "")) {
      window.open(button.uri, "_blank", "noopener");
    }
  }

  // ---- rendering -----------------------------------------------------------------------

  // Text goes in as text nodes; only web addresses and phone numbers become <a> elements.
  function textBubble(text) {
    const bubble = make("div", "bubble");
    let last = 0;
    for (const match of text.matchAll(LINK_PATTERN)) {
      if (match.index > last) bubble.append(text.slice(last, match.index));
      const link = make("a", match[1] ? "" : "tel", match[0]);
      if (match[1]) {
        link.href = match[1];
        link.target = "_blank";
        link.rel = "noopener noreferrer";
      } else {
        link.href = "tel:" + match[2].replace(/-/g, "");
      }
      bubble.appendChild(link);
      last = match.index + match[0].length;
    }
    bubble.append(text.slice(last));
    return bubble;
  }

  function bubbleFor(message) {
    const type = message.type;
    if (type === "text") return textBubble(String(message.text ?? ""));
    if (type === "sticker") {
      const bubble = make("div", "bubble sticker");
      bubble.setAttribute("role", "img");
      bubble.setAttribute("aria-label", "スタンプ");
      bubble.appendChild(stickerDrawing());
      bubble.appendChild(make("span", "caption", "スタンプ"));
      return bubble;
    }
    const labels = {
      image: ["image", "画像"],
      video: ["video", "動画"],
      audio: ["audio", "音声メッセージ"],
      file: ["file", "ファイル"],
      location: ["location", "位置情報"],
      flex: ["message", "メッセージ"],
      template: ["message", "メッセージ"],
      imagemap: ["image", "イメージマップ"],
    };
    const bubble = make("div", "bubble media");
    const [icon, label] = labels[type] || ["message", "（この種類のメッセージは表示できません）"];
    const title = make("span", "media-label");
    title.append(drawing("0 0 24 24", ICONS[icon]), label);
    bubble.appendChild(title);
    let caption = null;
    if (message.alt_text) caption = message.alt_text;
    if (type === "location") caption = [message.title, message.address].filter(Boolean).join("\n");
    if (type === "file" && message.file_name) caption = message.file_name;
    if (caption) bubble.appendChild(make("span", "caption", caption));
    const url = message.original_content_url;
    if (url && /^https:\/\//.test(url)) {
      const link = make("a", "", "ひらく");
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      const wrap = make("span", "caption");
      wrap.appendChild(link);
      bubble.appendChild(wrap);
    }
    return bubble;
  }

  function renderMessage(message) {
    if (message.from === "user" && message.unsent) {
      return make("div", "notice", "メッセージの送信を取り消しました");
    }
    const row = make("div", "row " + (message.from === "bot" ? "bot" : "user"));
    const meta = make("div", "meta");
    if (message.from === "bot") {
      const avatar = make("div", "avatar", "声");
      avatar.setAttribute("aria-hidden", "true");
      row.appendChild(avatar);
      row.appendChild(bubbleFor(message));
      meta.appendChild(make("span", "", timeLabel(message.at)));
      row.appendChild(meta);
    } else {
      if (message.id && !message.postback_data) {
        const unsend = make("button", "unsend", "送信取消");
        unsend.type = "button";
        unsend.title = "このメッセージの送信を取り消す";
        unsend.addEventListener("click", () => {
          if (window.confirm("このメッセージの送信を取り消しますか？")) {
            send({ type: "unsend", message_id: message.id });
          }
        });
        meta.appendChild(unsend);
        // Touch screens have no hover: a tap on the message shows 送信取消 (LINE uses a long press).
        row.addEventListener("click", (event) => {
          if (!event.target.closest(".unsend")) row.classList.toggle("actions-open");
        });
      }
      if (message.read) meta.appendChild(make("span", "", "既読"));
      meta.appendChild(make("span", "", timeLabel(message.at)));
      row.appendChild(meta);
      row.appendChild(bubbleFor(message));
    }
    return row;
  }

  function renderTyping() {
    const row = make("div", "row bot");
    const avatar = make("div", "avatar", "声");
    avatar.setAttribute("aria-hidden", "true");
    const bubble = make("div", "bubble typing");
    bubble.setAttribute("aria-label", "入力中…");
    bubble.append(make("span"), make("span"), make("span"));
    row.append(avatar, bubble);
    return row;
  }

  function renderQuickReplies(chat) {
    const messages = chat.messages;
    const last = messages.length ? messages[messages.length - 1] : null;
    quickReplies.replaceChildren();
    if (!last || last.from !== "bot" || !last.quick_reply || chat.blocked || last.id === dismissedQuickReplyFor) {
      quickReplies.hidden = true;
      return;
    }
    for (const item of last.quick_reply) {
      const button = make("button", "", item.label || "");
      button.type = "button";
      if (!["postback", "message", "uri"].includes(item.type)) {
        button.disabled = true;
        button.title = "この種類のボタンはエミュレーターでは使えません";
      } else {
        button.addEventListener("click", () => onQuickReply(item, last.id));
      }
      quickReplies.appendChild(button);
    }
    quickReplies.hidden = false;
  }

  function render(chat) {
    const signature = JSON.stringify(chat) + "|" + dismissedQuickReplyFor;
    if (signature === lastRendered) return;
    lastRendered = signature;
    const keepAtBottom =
      stickToBottom ||
      !lastChat ||
      chat.messages.length !== lastChat.messages.length ||
      chat.loading !== lastChat.loading;
    lastChat = chat;

    const nodes = [];
    if (chat.following || chat.blocked || chat.messages.length) {
      nodes.push(make("div", "notice", deskLabel(desk) + "を友だち追加しました"));
    }
    for (const message of chat.messages) nodes.push(renderMessage(message));
    if (chat.loading && !chat.blocked) nodes.push(renderTyping());
    chatLog.replaceChildren(...nodes);

    chatStatus.textContent = chat.blocked ? "ブロック中" : chat.following ? "友だち" : "";
    blockedNote.hidden = !chat.blocked;
    blockButton.hidden = chat.blocked;
    unblockButton.hidden = !chat.blocked;
    for (const control of [textInput, sendButton, stickerButton, imageButton]) control.disabled = chat.blocked;
    renderQuickReplies(chat);
    // Only now, with the quick replies and the blocked note in place, is the log's height known.
    if (keepAtBottom) scrollToBottom();
  }

  function distanceFromBottom() {
    return chatLog.scrollHeight - chatLog.scrollTop - chatLog.clientHeight;
  }

  function scrollToBottom() {
    chatLog.scrollTop = chatLog.scrollHeight;
    stickToBottom = true;
  }

  async function poll() {
    if (polling || !desk || !users[desk]) return;
    polling = true;
    const pollingDesk = desk;
    try {
      const result = await api("GET", "/emulator/chats/" + encodeURIComponent(desk) + "/" + encodeURIComponent(users[desk]));
      if (pollingDesk !== desk) return;
      if (result.status === 404) {
        delete users[desk];
        saveUsers();
        showStart();
        startNote.textContent = "エミュレーターが再起動したので、最初からになります。";
        return;
      }
      if (result.ok) render(result.data);
    } catch (_error) {
      devStatus.textContent = "エミュレーターにつながりません";
    } finally {
      polling = false;
    }
  }

  function autoGrow() {
    textInput.style.height = "auto";
    textInput.style.height = Math.min(textInput.scrollHeight, 120) + "px";
  }

  // ---- wiring --------------------------------------------------------------------------

  chatLog.addEventListener("scroll", () => {
    stickToBottom = distanceFromBottom() < NEAR_BOTTOM_PX;
  });
  // The log gets shorter when quick replies, the blocked note, a taller input box or a phone's keyboard
  // appear; whoever was reading the newest message keeps seeing it.
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(() => {
      if (stickToBottom && !chatLog.hidden) chatLog.scrollTop = chatLog.scrollHeight;
    }).observe(chatLog);
  }

  startButton.addEventListener("click", startAsNewUser);
  sendButton.addEventListener("click", sendText);
  textInput.addEventListener("input", autoGrow);
  textInput.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a newline; Enter that confirms Japanese input (IME) does neither.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      sendText();
    }
  });
  stickerButton.addEventListener("click", () => {
    const stickerId = String(1988 + Math.floor(Math.random() * 40));
    send({ type: "sticker", package_id: "446", sticker_id: stickerId });
  });
  imageButton.addEventListener("click", () => send({ type: "image" }));
  blockButton.addEventListener("click", () => {
    if (window.confirm(deskLabel(desk) + "をブロックしますか？")) send({ type: "unfollow" });
  });
  unblockButton.addEventListener("click", () => send({ type: "follow", is_unblocked: true }));
  restartButton.addEventListener("click", () => {
    if (!window.confirm("いまの会話をはなれて、別の利用者として始めますか？")) return;
    delete users[desk];
    saveUsers();
    selectDesk(desk);
  });

  async function init() {
    const result = await api("GET", "/emulator/channels");
    desks = result.ok ? result.data.map((channel) => channel.desk) : [];
    if (!desks.length) {
      showStart();
      startButton.disabled = true;
      startNote.textContent = "相談窓口（チャネル）が設定されていません。";
      return;
    }
    selectDesk(desks[0]);
    setInterval(poll, POLL_MS);
  }

  init();
})();
