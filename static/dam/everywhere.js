// On every page: the `?` key (not while typing in a field) or the header's Shortcuts button opens the
// keyboard-shortcuts overlay, a modal <dialog>; Escape or its Close button closes it. The list below is every
// key handler the screens have (library.js, preview.js, studio.js, refiner.js, focus.js, generative.js): keep it in step with them.
// The overlay is built here, on first use, so it exists only where the shortcuts (all JavaScript) do.
(function () {
  "use strict";

  var SECTIONS = [
    ["Everywhere", [
      [["?"], "Show this list (not while typing in a field)"],
      [["Esc"], "Close this list"],
      [["Tab", "/", "Shift", "+", "Tab"], "Move between links, fields and buttons"]]],
    ["Media Library grid", [
      [["←", "→", "↑", "↓"], "Move between tiles"],
      [["Home", "/", "End"], "First / last tile on the page"],
      [["Space"], "Select or unselect the focused tile"],
      [["Enter"], "Open the focused tile's preview"]]],
    ["Media Library preview", [
      [["←", "/", "→"], "Previous / next asset"],
      [["Esc"], "Close the preview"]]],
    ["Studio", [
      [["←", "→", "Home", "End"], "On the code tabs: switch between URL and SDK snippets"]]],
    ["Background Refiner", [
      [["E"], "Remove brush"],
      [["R"], "Restore brush"],
      [["H", "or hold", "Space"], "Pan"],
      [["[", "/", "]"], "Smaller / larger brush"],
      [["Ctrl", "+", "Z", "(", "⌘", "+", "Z", ")"], "Undo the last stroke"]]],
    ["Focus Area Refiner", [
      [["←", "→", "↑", "↓"], "Move the selected area by 1 px (with Shift: 10 px)"],
      [["Alt", "+ arrows"], "Resize the selected area"],
      [["Delete", "/", "Backspace"], "Remove the selected area"],
      [["←", "→", "Home", "End"], "On the tabs: switch between faces, custom and regions"]]],
    ["Generative Refiner", [
      [["Space", "/", "Enter"], "Choose the focused variation"]]]
  ];
  var WORDS = ["/", "+", "(", ")", "or hold", "+ arrows"];  // joiners, not keys

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function build() {
    var dialog = el("dialog", { id: "shortcuts", "class": "shortcuts-dialog", "aria-labelledby": "shortcuts-title" });
    var head = el("div", { "class": "dialog-head" });
    var close = el("form", { method: "dialog" });
    close.append(el("button", { type: "submit", "class": "secondary small" }, "Close"));
    head.append(el("h2", { id: "shortcuts-title" }, "Keyboard shortcuts"), close);
    dialog.append(head);
    SECTIONS.forEach(function (section) {
      var list = el("dl", { "class": "keys" });
      section[1].forEach(function (row) {
        var dt = el("dt");
        row[0].forEach(function (part, i) {
          if (i) dt.append(" ");
          dt.append(WORDS.indexOf(part) >= 0 ? document.createTextNode(part) : el("kbd", {}, part));
        });
        list.append(dt, el("dd", {}, row[1]));
      });
      var block = el("section");
      block.append(el("h3", {}, section[0]), list);
      dialog.append(block);
    });
    document.body.append(dialog);
    return dialog;
  }

  function open() {
    var dialog = document.getElementById("shortcuts") || build();
    if (!dialog.open) dialog.showModal();
  }

  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
                      target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "?" || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    event.preventDefault();
    open();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts]")) open();
  });
  document.querySelectorAll("[data-shortcuts]").forEach(function (button) { button.hidden = false; });
  // on a narrow screen the sections scroll sideways on one line: show the current one
  var current = document.querySelector(".sections [aria-current]");
  var sections = current && current.parentElement;
  if (sections && sections.scrollWidth > sections.clientWidth) {
    sections.scrollLeft = current.offsetLeft - (sections.clientWidth - current.offsetWidth) / 2;
  }
})();
