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

  // --- uploads: drag and drop or the picker, one request per file with its progress ---
  function setupUpload() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var zone = document.getElementById("dropzone");
    var picker = document.getElementById("upload-files");
    var list = document.getElementById("uploads");
    var submit = document.getElementById("upload-submit");
    var pending = 0;
    submit.hidden = true;  // files start uploading as soon as they are chosen

    function uploadOne(file) {
      var item = document.createElement("li");
      item.className = "upload";
      var name = document.createElement("span");
      name.className = "file";
      name.textContent = file.name;
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", "Uploading " + file.name);
      var status = document.createElement("span");
      status.className = "status";
      status.textContent = "0%";
      item.append(name, bar, status);
      list.append(item);

      var data = new FormData();
      data.append("file", file, file.name);
      data.append("folder", form.elements.folder.value);
      data.append("upload_preset", form.elements.upload_preset.value);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", form.elements.csrfmiddlewaretoken.value);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
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
        if (xhr.status === 200 && body) {
          bar.value = 100;
          item.classList.add("ok");
          status.textContent = "";
          var link = document.createElement("a");
          link.href = body.page;
          link.textContent = "Done: " + body.public_id;
          status.append(link);
        } else {
          item.classList.add("failed");
          var message = body && body.error ? body.error.message
            : (xhr.status ? "Upload failed (HTTP " + xhr.status + ")" : "Upload failed: network error");
          status.textContent = message;
          status.setAttribute("role", "alert");
        }
        if (pending === 0 && window.htmx) {
          htmx.ajax("GET", location.pathname + location.search, { target: "#results" });
        }
      });
      xhr.send(data);
    }

    function uploadAll(files) {
      Array.prototype.forEach.call(files, uploadOne);
    }
    picker.addEventListener("change", function () { uploadAll(picker.files); picker.value = ""; });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) uploadAll(e.dataTransfer.files);
    });
  }

  // the bulk bar shows the field its action needs
  function setupBulk() {
    var action = document.getElementById("bulk-action");
    if (!action) return;
    var show = function () {
      document.getElementById("bulk-tags").hidden = !(action.value === "tag" || action.value === "untag");
      document.getElementById("bulk-folder").hidden = action.value !== "move";
    };
    action.addEventListener("change", show);
    show();
  }

  function setup() { setupUpload(); setupBulk(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
