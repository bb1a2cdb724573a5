// Small enhancements; every page works without them.
(function () {
  "use strict";

  // --- copy buttons -------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-copy"));
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.classList.add("copied");
      setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 1500);
    };
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // --- code-snippet tabs (the Studio's and the Generate screen's) -----------------
  // The ARIA tabs pattern on the box `boxId` (its [role=tablist] of buttons id="tab-NAME",
  // aria-controls naming their panels): without JavaScript the tab list stays hidden and every
  // panel shows.  The chosen tab (the first one at the start) is kept when htmx replaces the box.
  window.damCodeTabs = function (boxId) {
    var chosen = null;

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
      var box = document.getElementById(boxId);
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
      select(box, chosen && document.getElementById("tab-" + chosen) ? chosen : tabs[0].id.slice(4), false);
    }

    document.addEventListener("DOMContentLoaded", setUp);
    document.addEventListener("htmx:afterSettle", setUp);
    document.addEventListener("htmx:oobAfterSwap", setUp);
    if (document.readyState !== "loading") setUp();
  };

  // --- selection in the grid ------------------------------------------------------
  function updateSelection() {
    var count = document.querySelectorAll('input[name="ids"][form="bulk"]:checked').length;
    var label = document.getElementById("selected-count");
    if (label) label.textContent = count ? count + " selected:" : "Select assets below, then:";
    var all = document.getElementById("select-all");
    var boxes = document.querySelectorAll('input[name="ids"][form="bulk"]');
    if (all) all.checked = boxes.length > 0 && count === boxes.length;
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "select-all") {
      document.querySelectorAll('input[name="ids"][form="bulk"]').forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    if (event.target.name === "ids" || event.target.id === "select-all") updateSelection();
  });
  document.addEventListener("htmx:afterSwap", function () {
    updateSelection();
    var next = document.querySelector('#bulk input[name="next"]');
    if (next) next.value = location.pathname + location.search;
  });

  // --- uploads: a queue of one request per file (or URL), with progress, Cancel, Retry, Clear ---
  // The form's choices (folder, tags, preset, use_filename, unique_filename) are read when a file is
  // queued, so a Retry sends what the first try sent.
  function setupUpload() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var box = document.getElementById("upload-box");
    var zone = document.getElementById("dropzone");
    var picker = document.getElementById("upload-files");
    var list = document.getElementById("uploads");
    var submit = document.getElementById("upload-submit");
    var urlInput = document.getElementById("upload-url");
    var urlGo = document.getElementById("upload-url-go");
    var clear = document.getElementById("upload-clear");
    var pending = 0, stored = 0;
    submit.hidden = true;  // files start uploading as soon as they are chosen
    if (urlGo) urlGo.hidden = false;

    function choices() {
      var f = form.elements, out = [["options", "1"], ["folder", f.folder.value], ["tags", f.tags.value],
                                    ["upload_preset", f.upload_preset.value]];
      if (f.use_filename.checked) out.push(["use_filename", "1"]);
      if (f.unique_filename.checked) out.push(["unique_filename", "1"]);
      return out;
    }

    function button(label, cls) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "secondary small " + cls;
      b.textContent = label;
      return b;
    }

    function refreshClear() {
      clear.hidden = !list.querySelector("li.ok, li.failed, li.cancelled");
    }

    // source: {file: File} or {url: "https://..."}
    function enqueue(source) {
      var label = source.file ? source.file.name : source.url;
      var item = document.createElement("li");
      item.className = "upload";
      var name = document.createElement("span");
      name.className = "file";
      name.textContent = label;
      name.title = label;
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.setAttribute("aria-label", "Uploading " + label);
      var status = document.createElement("span");
      status.className = "status";
      var actions = document.createElement("span");
      actions.className = "actions";
      item.append(name, bar, status, actions);
      list.append(item);
      send(item, source, choices());
    }

    function send(item, source, options) {
      var label = source.file ? source.file.name : source.url;
      var bar = item.querySelector("progress"), status = item.querySelector(".status");
      var actions = item.querySelector(".actions");
      item.className = "upload uploading";
      status.removeAttribute("role");
      status.textContent = source.file ? "0%" : "Fetching…";
      if (source.file) bar.value = 0; else bar.removeAttribute("value");

      var data = new FormData();
      options.forEach(function (pair) { data.append(pair[0], pair[1]); });
      if (source.file) data.append("file", source.file, source.file.name);
      else data.append("url", source.url);
      var xhr = new XMLHttpRequest();
      var cancelled = false;
      var cancel = button("Cancel", "cancel");
      cancel.setAttribute("aria-label", "Cancel " + label);
      cancel.addEventListener("click", function () { cancelled = true; xhr.abort(); });
      actions.replaceChildren(cancel);
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", form.elements.csrfmiddlewaretoken.value);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && source.file) {
          var pct = Math.round((e.loaded / e.total) * 100);
          bar.value = pct;
          status.textContent = pct + "%";
        }
      });
      pending += 1;
      xhr.addEventListener("loadend", function () {
        pending -= 1;
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
        actions.replaceChildren();
        if (!cancelled && xhr.status === 200 && body) {
          stored += 1;
          bar.value = 100;
          item.className = "upload ok" + (body.replaced ? " replaced" : "");
          status.textContent = "";
          var link = document.createElement("a");
          link.href = body.page;
          link.textContent = "Done: " + body.public_id;
          status.append(link);
        } else {
          item.className = "upload " + (cancelled ? "cancelled" : "failed");
          if (cancelled) {
            status.textContent = "Cancelled";
          } else {
            status.textContent = body && body.error ? body.error.message
              : (xhr.status ? "Upload failed (HTTP " + xhr.status + ")" : "Upload failed: network error");
            status.setAttribute("role", "alert");
          }
          var retry = button("Retry", "retry");
          retry.setAttribute("aria-label", "Retry " + label);
          retry.addEventListener("click", function () { send(item, source, options); });
          actions.append(retry);
        }
        refreshClear();
        if (pending === 0 && stored && window.htmx) {
          stored = 0;
          htmx.ajax("GET", location.pathname + location.search, { target: "#results" });
        }
      });
      xhr.send(data);
    }

    function uploadAll(files) {
      Array.prototype.forEach.call(files, function (file) { enqueue({ file: file }); });
    }
    function uploadUrl() {
      var url = urlInput.value.trim();
      if (!url) { urlInput.focus(); return; }
      enqueue({ url: url });
      urlInput.value = "";
    }
    picker.addEventListener("change", function () { uploadAll(picker.files); picker.value = ""; });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (urlInput.value.trim()) uploadUrl();
    });
    if (urlGo) urlGo.addEventListener("click", uploadUrl);
    clear.addEventListener("click", function () {
      list.querySelectorAll("li.ok, li.failed, li.cancelled").forEach(function (li) { li.remove(); });
      refreshClear();
      picker.focus();
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) uploadAll(e.dataTransfer.files);
    });
    // files dragged over the page open the upload panel (its drop zone takes them)
    document.addEventListener("dragenter", function (e) {
      var types = e.dataTransfer && e.dataTransfer.types;
      if (box && !box.open && types && Array.prototype.indexOf.call(types, "Files") >= 0) box.open = true;
    });
  }

  // the bulk bar shows the field its action needs
  function setupBulk() {
    var action = document.getElementById("bulk-action");
    if (!action) return;
    var show = function () {
      document.getElementById("bulk-tags").hidden = !(action.value === "tag" || action.value === "untag");
      document.getElementById("bulk-folder").hidden = action.value !== "move";
      var fields = document.getElementById("bulk-collection-fields");
      if (fields) {
        fields.hidden = action.value !== "collect";
        var pick = document.getElementById("bulk-collection");
        document.getElementById("bulk-collection-name").hidden = !!(pick && pick.value);  // a chosen one needs no name
      }
    };
    action.addEventListener("change", show);
    var pickCollection = document.getElementById("bulk-collection");
    if (pickCollection) pickCollection.addEventListener("change", show);
    show();
  }

  function setup() { setupUpload(); setupBulk(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
