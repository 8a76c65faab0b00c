// The queue and conversation pages: live SLA timers, errors of htmx actions shown in the page, canned replies
// typed as /shortcode (Tab completes a prefix), "use it" for the suggested answer, Ctrl+Enter to send, a fresh idempotency key per reply.
(function () {
  "use strict";

  function span(seconds) {
    seconds = Math.abs(seconds);
    if (seconds < 60) { return Math.floor(seconds) + " s"; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + " min"; }
    if (seconds < 86400) {
      var hours = Math.floor(seconds / 3600);
      var minutes = Math.floor((seconds % 3600) / 60);
      return hours < 10 ? hours + " h " + (minutes < 10 ? "0" : "") + minutes + " min" : hours + " h";
    }
    return Math.floor(seconds / 86400) + " d";
  }

  // SLA timers tick in the browser; the server's poll only sends rows when something changed.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (element) {
      if (element.getAttribute("data-answered")) { return; }
      var left = (Date.parse(element.getAttribute("data-due")) - now) / 1000;
      element.textContent = left >= 0 ? "due in " + span(left) : span(left) + " overdue";
      element.classList.toggle("sla-breached", left < 0);
      element.classList.toggle("sla-soon", left >= 0 && left < 900);
    });
  }
  setInterval(tick, 15000);

  // The thread opens (and stays, after each refresh) at its latest message.
  function toLatest() {
    document.querySelectorAll("[data-testid=thread]").forEach(function (thread) {
      thread.scrollTop = thread.scrollHeight;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); toLatest(); });
  document.addEventListener("htmx:afterSettle", function () { tick(); toLatest(); });

  // htmx does not swap 4xx answers by default: show ours (a clear message, with the current state) in the
  // page's message area instead of failing silently.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var area = document.getElementById("action-error");
    if (status >= 400 && status < 500 && status !== 401 && area) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      event.detail.target = area;
      event.detail.swapOverride = "innerHTML";
    } else if (status >= 200 && status < 300 && area && event.detail.requestConfig.verb === "post") {
      area.innerHTML = "";
    }
  });

  function replyBox() { return document.querySelector("[data-canned-input]"); }

  function canned() {
    var island = document.getElementById("canned-replies");
    if (!island) { return {}; }
    try { return JSON.parse(island.textContent || "{}"); } catch (error) { return {}; }
  }

  // The "/code" just before the caret, if any.
  function pendingCode(box) {
    var before = box.value.slice(0, box.selectionStart);
    var match = /(^|\s)\/([a-z0-9_-]*)$/.exec(before);
    return match ? { code: match[2], start: before.length - match[2].length - 1 } : null;
  }

  function insertCanned(box, code) {
    var text = canned()[code];
    if (text === undefined) { return false; }
    var found = pendingCode(box);
    var start = found ? found.start : box.selectionStart;
    var end = box.selectionStart;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.selectionStart = box.selectionEnd = start + text.length;
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  }

  // The shortcodes starting with `prefix`, in order.
  function matching(prefix) {
    return Object.keys(canned()).filter(function (code) { return code.indexOf(prefix) === 0; }).sort();
  }

  function commonPrefix(codes) {
    var first = codes[0] || "";
    var length = first.length;
    codes.forEach(function (code) {
      while (code.slice(0, length) !== first.slice(0, length)) { length -= 1; }
    });
    return first.slice(0, length);
  }

  // Tab after "/sor": the one shortcode starting so is inserted; with several, the code is completed as far as
  // they agree and the matches stay listed under the box. False: nothing to complete (Tab moves on).
  function complete(box) {
    var found = pendingCode(box);
    if (!found) { return false; }
    if (canned()[found.code] !== undefined) { return insertCanned(box, found.code); }
    var codes = matching(found.code);
    if (codes.length === 1) { return insertCanned(box, codes[0]); }
    if (codes.length === 0) { return false; }
    var longer = commonPrefix(codes);
    if (longer.length > found.code.length) {
      var end = box.selectionStart;
      box.value = box.value.slice(0, end) + longer.slice(found.code.length) + box.value.slice(end);
      box.selectionStart = box.selectionEnd = end + longer.length - found.code.length;
    }
    showHints(box);
    return true;
  }

  function showHints(box) {
    var list = document.querySelector("[data-canned-hints]");
    if (!list) { return; }
    var found = pendingCode(box);
    list.innerHTML = "";
    if (!found) { list.hidden = true; return; }
    var replies = canned();
    var codes = matching(found.code).slice(0, 8);
    codes.forEach(function (code) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "linklike";
      button.setAttribute("data-canned-code", code);
      button.textContent = "/" + code + " — " + replies[code].slice(0, 70);
      item.appendChild(button);
      list.appendChild(item);
    });
    list.hidden = codes.length === 0;
  }

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (box.matches && box.matches("[data-canned-input]")) {
      showHints(box);
      var counter = document.querySelector("[data-char-count]");
      if (counter) {
        var limit = parseInt(box.getAttribute("maxlength") || "0", 10);
        counter.textContent = box.value.length ? box.value.length + (limit ? " / " + limit : "") : "";
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (!(box.matches && box.matches("[data-canned-input]"))) { return; }
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      var form = box.closest("form");
      if (form) { form.requestSubmit(); }
      return;
    }
    if (event.key === "Tab" && !event.shiftKey) {
      if (complete(box)) { event.preventDefault(); }
      return;
    }
    if (event.key === " " || event.key === "Enter") {
      var found = pendingCode(box);
      if (found && canned()[found.code] !== undefined) {
        event.preventDefault();
        insertCanned(box, found.code);
      }
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-canned-code], [data-fill-reply]") : null;
    if (!target) { return; }
    var box = replyBox();
    if (!box) { return; }
    if (target.hasAttribute("data-canned-code")) {
      if (!pendingCode(box)) {
        box.setSelectionRange(box.value.length, box.value.length);
      }
      insertCanned(box, target.getAttribute("data-canned-code"));
    } else {
      var source = document.querySelector(target.getAttribute("data-fill-reply"));
      if (source) {
        box.value = source.textContent.trim();
        box.focus();
        box.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }
  });

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID().replace(/-/g, ""); }
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  // After a reply was accepted: empty the box and take a new key (a retried request reuses the old one, so a
  // double click or a network retry never sends twice).
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!event.detail.successful || !form || !form.matches) { return; }
    if (form.matches("[data-reply-form]")) {
      var box = form.querySelector("textarea");
      if (box) { box.value = ""; box.dispatchEvent(new Event("input", { bubbles: true })); }
      var key = form.querySelector("[data-idempotency-key]");
      if (key) { key.value = newKey(); }
    } else if (form.matches("[data-reset-on-success]")) {
      form.reset();
    }
  });
})();
