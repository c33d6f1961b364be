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

  const pager = document.getElementById("pager");
  if ((!mode && !pager) || !window.EventSource) return;

  function refresher(url, target, after) {
    let timer = null;
    return function () {
      if (timer) return;
      timer = setTimeout(async function () {
        timer = null;
        try {
          const response = await fetch(url, { headers: { "Accept": "text/html", "X-Koe-Fragment": "1" }, credentials: "same-origin", redirect: "manual" });
          if (response.status === 401 || response.type === "opaqueredirect") { window.location.reload(); return; }
          if (response.ok) {
            const html = await response.text();
            if (html === target.dataset.lastHtml) return; // unchanged: screen readers are not told again
            target.dataset.lastHtml = html;
            const open = Array.from(target.querySelectorAll("details[open]")).map((d) => d.closest("li") && d.closest("li").id);
            target.innerHTML = html;
            open.forEach(function (id) { const d = id && document.querySelector("#" + id + " details"); if (d) d.open = true; });
            if (after) after();
          }
        } catch (e) { /* the next event or the periodic refresh tries again */ }
      }, 250);
    };
  }

  let refresh = function () {};
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
  }

  // Pages: a banner that stays until someone acknowledges, a sound, and a browser notification, for each new
  // page or step this person is told of (the server decides who; this only shows what it sends).
  let refreshPager = function () {};
  if (pager) {
    const heard = new Set(JSON.parse(sessionStorage.getItem("koe-pages-heard") || "[]"));
    let audio = null;
    const unlock = function () {
      try {
        audio = audio || new (window.AudioContext || window.webkitAudioContext)();
        if (audio.state === "suspended") audio.resume();
      } catch (e) { /* no sound on this device */ }
    };
    document.addEventListener("pointerdown", unlock, { once: true });
    document.addEventListener("keydown", unlock, { once: true });
    const setup = document.getElementById("alerts-setup");
    if (setup && window.Notification && Notification.permission === "default") setup.hidden = false;
    const enable = document.getElementById("alerts-enable");
    if (enable) enable.addEventListener("click", function () {
      unlock();
      beep();
      const asked = window.Notification && Notification.permission === "default" ? Notification.requestPermission() : null;
      if (asked && asked.then) asked.then(function () { setup.hidden = true; }, function () { setup.hidden = true; });
      else setup.hidden = true;
    });
    function beep() {
      if (!audio) unlock();
      if (!audio) return;
      [0, 0.35, 0.7].forEach(function (at) {
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = 880; osc.connect(gain); gain.connect(audio.destination);
        gain.gain.setValueAtTime(0.25, audio.currentTime + at);
        osc.start(audio.currentTime + at); osc.stop(audio.currentTime + at + 0.22);
      });
    }
    function alertNew() {
      const fresh = Array.from(pager.querySelectorAll("[data-page]")).filter(function (el) {
        return !heard.has(el.dataset.page + ":" + el.dataset.step);
      });
      if (!fresh.length) return;
      beep();
      if (!audio || audio.state !== "running") {
        // A new page load has no sound until the person touches it: say so where they will see it.
        if (setup) { setup.hidden = false; enable.textContent = "音が出ていません。ここを押すと呼び出し音が鳴ります"; }
      }
      fresh.forEach(function (el) {
        heard.add(el.dataset.page + ":" + el.dataset.step);
        try {
          if (window.Notification && Notification.permission === "granted") {
            const n = new Notification("【Koe】呼び出し：" + el.dataset.risk + "の相談", {
              body: el.dataset.desk + "窓口の相談 #" + el.dataset.consultation + "。コンソールで「受けます」を押してください。",
              tag: "koe-page-" + el.dataset.page, requireInteraction: true,
            });
            n.onclick = function () { window.focus(); n.close(); };
          }
        } catch (e) { /* Android Chrome allows notifications only from a service worker: the banner stays */ }
      });
      sessionStorage.setItem("koe-pages-heard", JSON.stringify(Array.from(heard).slice(-200)));
      document.body.dataset.paged = String(fresh.length);
    }
    refreshPager = refresher("/console/pages/banner", pager, alertNew);
    refreshPager();
    setInterval(refreshPager, 20000);
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
  ["page", "page_acknowledged"].forEach(function (type) {
    source.addEventListener(type, function (event) {
      refreshPager();
      let data = {};
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (mine(data)) refresh();
    });
  });
  source.addEventListener("hello", function () { status.hidden = true; refresh(); refreshPager(); });
  source.addEventListener("signed_out", function () { source.close(); window.location.reload(); });
  source.onerror = function () { status.textContent = "接続が切れました。再接続しています…"; status.hidden = false; };
})();
