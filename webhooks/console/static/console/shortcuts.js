// Keyboard shortcuts: an element with data-shortcut="c" is activated by the key "c" (buttons and links are
// clicked, fields focused) unless the person is typing in a field; "?" lists every shortcut on the page.
// Elements are looked up at key time, so parts swapped in by htmx work without registration.
(function () {
  "use strict";
  var HELP_ID = "shortcut-help";

  function isTyping(target) {
    if (!target || !(target instanceof Element)) {
      return false;
    }
    if (target.isContentEditable) {
      return true;
    }
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") {
      return true;
    }
    if (tag === "INPUT") {
      var type = (target.getAttribute("type") || "text").toLowerCase();
      return ["button", "submit", "reset", "checkbox", "radio"].indexOf(type) === -1;
    }
    return false;
  }

  function visible(element) {
    return !!(element.offsetWidth || element.offsetHeight || element.getClientRects().length);
  }

  function usable(element) {
    return !element.disabled && element.getAttribute("aria-disabled") !== "true";
  }

  function shortcuts() {
    return Array.prototype.filter.call(document.querySelectorAll("[data-shortcut]"), function (element) {
      return element.getAttribute("data-shortcut") !== "?";
    });
  }

  function labelOf(element) {
    return (
      element.getAttribute("data-shortcut-label") ||
      element.getAttribute("aria-label") ||
      element.getAttribute("title") ||
      (element.textContent || "").trim() ||
      element.getAttribute("placeholder") ||
      ""
    );
  }

  function closeHelp() {
    var dialog = document.getElementById(HELP_ID);
    if (dialog) {
      dialog.close();
      dialog.remove();
      return true;
    }
    return false;
  }

  function showHelp() {
    if (closeHelp()) {
      return;
    }
    var dialog = document.createElement("dialog");
    dialog.id = HELP_ID;
    dialog.className = "shortcut-help";
    dialog.setAttribute("aria-label", "Keyboard shortcuts");
    var title = document.createElement("h2");
    title.textContent = "Keyboard shortcuts";
    dialog.appendChild(title);
    var list = document.createElement("dl");
    var seen = {};
    var entries = [["?", "Show or hide this list"], ["Esc", "Close this list, leave a field"]];
    shortcuts().forEach(function (element) {
      var key = element.getAttribute("data-shortcut");
      if (!seen[key] && visible(element)) {
        seen[key] = true;
        entries.push([key, labelOf(element)]);
      }
    });
    entries.forEach(function (entry) {
      var dt = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = entry[0];
      dt.appendChild(kbd);
      var dd = document.createElement("dd");
      dd.textContent = entry[1];
      list.appendChild(dt);
      list.appendChild(dd);
    });
    dialog.appendChild(list);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn";
    close.textContent = "Close";
    close.addEventListener("click", closeHelp);
    dialog.appendChild(close);
    dialog.addEventListener("close", function () {
      dialog.remove();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  }

  function activate(element) {
    var tag = element.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      element.focus();
      if (element.select && tag !== "SELECT") {
        element.select();
      }
    } else {
      element.click();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) {
      return;
    }
    if (event.key === "Escape") {
      if (!closeHelp() && isTyping(event.target)) {
        event.target.blur();
      }
      return;
    }
    if (isTyping(event.target)) {
      return;
    }
    if (event.key === "?") {
      event.preventDefault();
      showHelp();
      return;
    }
    if (document.getElementById(HELP_ID)) {
      return;
    }
    var match = shortcuts().filter(function (element) {
      return element.getAttribute("data-shortcut") === event.key && visible(element) && usable(element);
    })[0];
    if (match) {
      event.preventDefault();
      activate(match);
    }
  });

  // The "?" button in the user menu opens the list too.
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest('[data-shortcut="?"]') : null;
    if (target) {
      event.preventDefault();
      showHelp();
    }
  });

  window.consoleShortcuts = { show: showHelp, close: closeHelp, isTyping: isTyping };
})();
