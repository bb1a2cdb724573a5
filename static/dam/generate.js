// The Generate screen (studio/views_generate.py): htmx posts the form and polls the task; this
// file only makes the code snippets tabs (the ARIA tabs pattern, as the Studio's).  Without
// JavaScript the tab list stays hidden and every panel shows.  The chosen tab is kept when htmx
// replaces the snippets after a change of the form.
(function () {
  "use strict";
  var chosen = "curl";

  function select(box, name, focus) {
    var tabs = box.querySelectorAll('[role="tab"]');
    for (var i = 0; i < tabs.length; i++) {
      var tab = tabs[i];
      var on = tab.id === "tab-" + name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      document.getElementById(tab.getAttribute("aria-controls")).hidden = !on;
      if (on && focus) tab.focus();
    }
    chosen = name;
  }

  function setUp() {
    var box = document.getElementById("generate-code");
    if (!box || box.dataset.tabs) return;
    var list = box.querySelector('[role="tablist"]');
    if (!list) return;
    box.dataset.tabs = "on";
    var tabs = Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
    list.hidden = false;
    list.addEventListener("click", function (event) {
      var tab = event.target.closest('[role="tab"]');
      if (tab) select(box, tab.id.slice(4), false);
    });
    list.addEventListener("keydown", function (event) {
      var at = tabs.indexOf(document.activeElement);
      if (at < 0) return;
      var to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (to === undefined) return;
      event.preventDefault();
      select(box, tabs[(to + tabs.length) % tabs.length].id.slice(4), true);
    });
    select(box, document.getElementById("tab-" + chosen) ? chosen : tabs[0].id.slice(4), false);
  }

  document.addEventListener("DOMContentLoaded", setUp);
  document.addEventListener("htmx:afterSettle", setUp);
  document.addEventListener("htmx:oobAfterSwap", setUp);
  if (document.readyState !== "loading") setUp();
})();
