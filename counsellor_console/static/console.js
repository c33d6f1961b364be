// Live updates without reloading: the server sends news (IDs only) by Server-Sent Events; the page fetches
// the fresh fragment it shows. No framework, no inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";
  const body = document.body;
  const mode = body.dataset.live;
  const status = document.getElementById("live-status");

  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    const question = button && button.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // 定型文 and directory entries: inserted where the cursor is, to be edited before sending.
  document.addEventListener("change", function (event) {
    const select = event.target;
    if (!select.dataset || !select.dataset.insertInto) return;
    const option = select.selectedOptions[0];
    const box = document.getElementById(select.dataset.insertInto);
    if (option && option.dataset.body && box) insertText(box, option.dataset.body);
    select.value = "";
  });
  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("[data-insert-text]");
    if (!button) return;
    const box = document.getElementById(button.dataset.insertInto || "reply-text");
    if (box) insertText(box, button.dataset.insertText);
  });
  function insertText(box, text) {
    const start = box.selectionStart != null ? box.selectionStart : box.value.length;
    const end = box.selectionEnd != null ? box.selectionEnd : box.value.length;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + text.length;
  }

  // While the counsellor who has the case writes, the sender sees LINE's "…" (at most every 15 seconds).
  const replyBox = document.getElementById("reply-text");
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  if (replyBox && csrfMeta && body.dataset.consultation) {
    let lastTyping = 0;
    replyBox.addEventListener("input", function () {
      const now = Date.now();
      if (now - lastTyping < 15000) return;
      lastTyping = now;
      fetch("/console/consultations/" + body.dataset.consultation + "/typing", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrfMeta.content },
      }).catch(function () { /* only an animation */ });
    });
  }

  if (!mode || !window.EventSource) return;

  function refresher(url, target) {
    let timer = null;
    return function () {
      if (timer) return;
      timer = setTimeout(async function () {
        timer = null;
        try {
          const response = await fetch(url, { headers: { "Accept": "text/html", "X-Koe-Fragment": "1" }, credentials: "same-origin", redirect: "manual" });
          if (response.status === 401 || response.type === "opaqueredirect") { window.location.reload(); return; }
          if (response.ok) {
            const open = Array.from(target.querySelectorAll("details[open]")).map((d) => d.closest("li") && d.closest("li").id);
            target.innerHTML = await response.text();
            open.forEach(function (id) { const d = id && document.querySelector("#" + id + " details"); if (d) d.open = true; });
          }
        } catch (e) { /* the next event or the periodic refresh tries again */ }
      }, 250);
    };
  }

  let refresh;
  let mine = function () { return true; };
  if (mode === "queue") {
    refresh = refresher("/console/queue/rows", document.getElementById("queue-rows"));
    setInterval(refresh, 30000); // waiting times move on even when nothing happens
  } else if (mode === "supervisor") {
    refresh = refresher("/console/supervisor/body", document.getElementById("supervisor-body"));
    setInterval(refresh, 30000);
  } else if (mode === "consultation") {
    const id = body.dataset.consultation;
    refresh = refresher("/console/consultations/" + id + "/thread", document.getElementById("thread"));
    mine = function (data) { return String(data.consultation_id) === id; };
  } else {
    return;
  }

  const source = new EventSource("/console/events");
  function on(type) {
    source.addEventListener(type, function (event) {
      let data = {};
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (mine(data)) refresh();
    });
  }
  ["consultation_changed", "risk_raised", "delivery"].forEach(on);
  source.addEventListener("hello", function () { status.hidden = true; refresh(); });
  source.addEventListener("signed_out", function () { source.close(); window.location.reload(); });
  source.onerror = function () { status.textContent = "接続が切れました。再接続しています…"; status.hidden = false; };
})();
