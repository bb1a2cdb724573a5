// The Focus Area Refiner: faces, one custom box and named regions over the image.
//
// The state is what refiners.focus stores, in pixels of the original:
//   {faces: [[x, y, w, h], ...], custom: [[x, y, w, h]], regions: {name: [[x, y], ...]}}
// (a region of two points is a box given by two opposite corners, three or more a polygon).
// The SVG over the image has the original's size as its viewBox, so shapes are drawn in
// those pixels at any display size.  Dragging and the x, y, w, h fields change the same
// state and both are redrawn from it.  "Save" posts the whole state with the revision
// it started from; "Undo" saves the previous revision's values as a new revision.
(function () {
  "use strict";
  var root = document.getElementById("focus");
  if (!root) return;

  var W = parseInt(root.dataset.width, 10), H = parseInt(root.dataset.height, 10);
  var SAVE = root.dataset.save;
  var NS = "http://www.w3.org/2000/svg";
  var TITLES = { faces: "Faces", custom: "Custom", regions: "Regions" };
  var HELP = {
    faces: "Boxes detected as faces on upload (or given). g_face uses the largest, g_faces all of them. Move, resize or delete them, or add one.",
    custom: "One box: what g_custom crops to. Drawing a new one replaces it.",
    regions: "Named boxes and polygons, used by g_region_!name!. Names: letters, digits and hyphens."
  };

  var stage = document.getElementById("focus-stage");
  var svg = document.getElementById("focus-svg");
  var list = document.getElementById("focus-list");
  var panel = document.getElementById("focus-panel");
  var panelTitle = document.getElementById("focus-panel-title");
  var panelHelp = document.getElementById("focus-panel-help");
  var addButton = document.getElementById("focus-add");
  var addPolygon = document.getElementById("focus-add-polygon");
  var deleteButton = document.getElementById("focus-delete");
  var saveButton = document.getElementById("focus-save");
  var undoButton = document.getElementById("focus-undo");
  var reloadButton = document.getElementById("focus-reload");
  var statusOut = document.getElementById("focus-status");
  var revisionOut = document.getElementById("focus-revision");
  var problem = document.getElementById("focus-problem");
  var previews = document.getElementById("focus-previews");
  var historyList = document.getElementById("focus-history");
  var tabs = Array.prototype.slice.call(document.querySelectorAll("[role=tab][data-kind]"));

  var server = JSON.parse(document.getElementById("focus-state").textContent);
  var data = copy(server);
  var kind = "faces";
  var selected = null;  // index (faces, custom) or name (regions) of the selected shape
  var busy = false;

  function copy(s) {
    return { faces: JSON.parse(JSON.stringify(s.faces || [])), custom: JSON.parse(JSON.stringify(s.custom || [])),
             regions: JSON.parse(JSON.stringify(s.regions || {})) };
  }
  function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }
  function dirty() { return JSON.stringify(copy(data)) !== JSON.stringify(copy(server)); }

  // --- shapes: every kind as {key, box: [x, y, w, h]} or {key, points} ------------------------

  function isBox(points) { return points.length === 2; }
  function pointsBox(p) {
    var x0 = Math.min(p[0][0], p[1][0]), y0 = Math.min(p[0][1], p[1][1]);
    return [x0, y0, Math.abs(p[1][0] - p[0][0]), Math.abs(p[1][1] - p[0][1])];
  }
  function bounds(points) {
    var xs = points.map(function (p) { return p[0]; }), ys = points.map(function (p) { return p[1]; });
    var x0 = Math.min.apply(null, xs), y0 = Math.min.apply(null, ys);
    return [x0, y0, Math.max.apply(null, xs) - x0, Math.max.apply(null, ys) - y0];
  }
  function shapes(k) {
    if (k === "regions") {
      return Object.keys(data.regions).map(function (name) {
        var p = data.regions[name];
        return isBox(p) ? { key: name, box: pointsBox(p) } : { key: name, points: p };
      });
    }
    return data[k].map(function (b, i) { return { key: i, box: b }; });
  }
  function getBox(k, key) {
    if (k === "regions") { var p = data.regions[key]; return p && (isBox(p) ? pointsBox(p) : bounds(p)); }
    return data[k][key];
  }
  function setBox(k, key, b) {
    b = fitBox(b);
    if (k === "regions") {
      var p = data.regions[key];
      if (isBox(p)) data.regions[key] = [[b[0], b[1]], [b[0] + b[2], b[1] + b[3]]];
      else {  // a polygon moves (or scales) with its bounding box
        var old = bounds(p), sx = old[2] ? b[2] / old[2] : 1, sy = old[3] ? b[3] / old[3] : 1;
        data.regions[key] = p.map(function (q) {
          return [Math.round(clamp(b[0] + (q[0] - old[0]) * sx, 0, W)), Math.round(clamp(b[1] + (q[1] - old[1]) * sy, 0, H))];
        });
      }
    } else data[k][key] = b;
  }
  function fitBox(b) {
    var w = clamp(Math.round(b[2]), 1, W), h = clamp(Math.round(b[3]), 1, H);
    return [clamp(Math.round(b[0]), 0, W - w), clamp(Math.round(b[1]), 0, H - h), w, h];
  }
  function removeShape(k, key) {
    if (k === "regions") delete data.regions[key]; else data[k].splice(key, 1);
  }
  function newRegionName() {
    for (var n = 1; n < 1000; n++) if (!data.regions["region-" + n]) return "region-" + n;
    return "region-" + Date.now();
  }
  function addShape(k, b) {
    b = fitBox(b);
    if (k === "faces") { data.faces.push(b); return data.faces.length - 1; }
    if (k === "custom") { data.custom = [b]; return 0; }
    var name = newRegionName();
    data.regions[name] = [[b[0], b[1]], [b[0] + b[2], b[1] + b[3]]];
    return name;
  }
  function defaultBox() {
    var w = Math.max(1, Math.round(W / 4)), h = Math.max(1, Math.round(H / 4));
    return [Math.round((W - w) / 2), Math.round((H - h) / 2), w, h];
  }

  // --- drawing -------------------------------------------------------------------------------

  function el(name, attrs) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (a) { e.setAttribute(a, attrs[a]); });
    return e;
  }
  function handleSize() {
    var r = svg.getBoundingClientRect();
    return Math.max(3, (r.width ? W / r.width : 1) * 7);
  }
  function strokeWidth() {
    var r = svg.getBoundingClientRect();
    return (r.width ? W / r.width : 1) * 2;
  }

  function drawSvg() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var hs = handleSize(), sw = strokeWidth();
    ["faces", "custom", "regions"].forEach(function (k) {
      var active = k === kind;
      shapes(k).forEach(function (s) {
        var isSel = active && s.key === selected;
        var cls = "shape " + k + (active ? " active" : " inactive") + (isSel ? " selected" : "");
        var g = el("g", { "class": cls, "data-kind": k, "data-key": String(s.key) });
        if (s.box) {
          g.appendChild(el("rect", { x: s.box[0], y: s.box[1], width: s.box[2], height: s.box[3],
                                     "stroke-width": sw, "data-part": "body" }));
        } else {
          g.appendChild(el("polygon", { points: s.points.map(function (p) { return p.join(","); }).join(" "),
                                        "stroke-width": sw, "data-part": "body" }));
        }
        if (k === "regions" && active) {
          var b = s.box || bounds(s.points);
          var t = el("text", { x: b[0] + sw * 2, y: b[1] + hs * 2, "font-size": hs * 2 });
          t.textContent = s.key;
          g.appendChild(t);
        }
        if (isSel) {
          var corners = s.box ? [[s.box[0], s.box[1], "nw"], [s.box[0] + s.box[2], s.box[1], "ne"],
                                 [s.box[0], s.box[1] + s.box[3], "sw"], [s.box[0] + s.box[2], s.box[1] + s.box[3], "se"]]
                              : s.points.map(function (p, i) { return [p[0], p[1], "v" + i]; });
          corners.forEach(function (c) {
            g.appendChild(el("rect", { x: c[0] - hs / 2, y: c[1] - hs / 2, width: hs, height: hs, "class": "handle",
                                       "data-part": c[2], "stroke-width": sw / 2 }));
          });
        }
        svg.appendChild(g);
      });
    });
  }

  function field(label, value, attrs) {
    var wrap = document.createElement("label");
    wrap.className = "focus-field";
    wrap.textContent = label;
    var input = document.createElement("input");
    Object.keys(attrs).forEach(function (a) { input.setAttribute(a, attrs[a]); });
    input.value = value;
    wrap.appendChild(input);
    return wrap;
  }

  function drawList() {
    list.textContent = "";
    var items = shapes(kind);
    items.forEach(function (s, i) {
      var li = document.createElement("li");
      li.className = "focus-item" + (s.key === selected ? " selected" : "");
      li.dataset.key = String(s.key);
      var head = document.createElement("div");
      head.className = "focus-item-head";
      var pick = document.createElement("button");
      pick.type = "button";
      pick.className = "link focus-pick";
      pick.setAttribute("aria-pressed", String(s.key === selected));
      pick.textContent = kind === "regions" ? s.key + (s.box ? " (box)" : " (polygon)") :
        (kind === "faces" ? "Face " + (i + 1) : "Custom box");
      head.appendChild(pick);
      var del = document.createElement("button");
      del.type = "button";
      del.className = "secondary small focus-remove";
      del.textContent = "Delete";
      del.setAttribute("aria-label", "Delete " + pick.textContent);
      head.appendChild(del);
      li.appendChild(head);
      if (kind === "regions") {
        li.appendChild(field("Name", s.key, { "data-field": "name", pattern: "[A-Za-z0-9-]+", maxlength: "64",
                                              autocomplete: "off", spellcheck: "false" }));
      }
      if (s.box) {
        var row = document.createElement("div");
        row.className = "focus-coords";
        [["x", 0, W - 1], ["y", 1, H - 1], ["w", 2, W], ["h", 3, H]].forEach(function (f) {
          row.appendChild(field(f[0], s.box[f[1]], { type: "number", min: f[0] === "w" || f[0] === "h" ? 1 : 0,
                                                     max: f[2], step: 1, inputmode: "numeric", "data-field": f[0],
                                                     "aria-label": f[0] + " of " + pick.textContent }));
        });
        li.appendChild(row);
      } else {
        li.appendChild(field("Points (x,y x,y …)", s.points.map(function (p) { return p.join(","); }).join(" "),
                             { "data-field": "points", autocomplete: "off", spellcheck: "false" }));
      }
      list.appendChild(li);
    });
    if (!items.length) {
      var empty = document.createElement("li");
      empty.className = "muted small";
      empty.textContent = kind === "faces" ? "No faces: drag on the image to add one." :
        kind === "custom" ? "No custom box: drag on the image to draw it." : "No regions: drag on the image to add a box.";
      list.appendChild(empty);
    }
  }

  function render() {
    drawSvg();
    drawList();
    deleteButton.disabled = selected === null;
    addButton.textContent = kind === "faces" ? "Add face" : kind === "custom" ? (data.custom.length ? "Reset custom box" : "Add custom box") : "Add box";
    addPolygon.hidden = kind !== "regions";
    stateChanged();
  }

  function redrawSvgOnly() { drawSvg(); syncFields(); stateChanged(); }

  function syncFields() {  // the selected row's inputs follow a drag without rebuilding the list
    var li = list.querySelector('.focus-item[data-key="' + cssEscape(String(selected)) + '"]');
    if (!li) return;
    var b = getBox(kind, selected);
    var names = { x: 0, y: 1, w: 2, h: 3 };
    Array.prototype.forEach.call(li.querySelectorAll("input[data-field]"), function (input) {
      var f = input.dataset.field;
      if (f in names && document.activeElement !== input) input.value = b[names[f]];
      if (f === "points" && document.activeElement !== input) {
        input.value = data.regions[selected].map(function (p) { return p.join(","); }).join(" ");
      }
    });
  }
  function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/"/g, '\\"'); }

  function stateChanged() {
    var d = dirty();
    root.dataset.dirty = d ? "1" : "";
    saveButton.disabled = busy || !d;
    undoButton.disabled = busy || !server.revision;
    var by = server.history && server.history[0] && server.history[0].created_by;
    revisionOut.textContent = (server.revision ? "Revision " + server.revision + " (" + (server.source || "saved") +
      (by ? " by " + by : "") + ")" : "No revision saved yet") + (d ? " · unsaved changes" : "");
  }

  // --- tabs ----------------------------------------------------------------------------------

  function selectTab(k, focus) {
    kind = k;
    selected = null;
    if (k === "custom" && data.custom.length) selected = 0;
    tabs.forEach(function (t) {
      var on = t.dataset.kind === k;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      if (on && focus) t.focus();
    });
    panel.setAttribute("aria-labelledby", "tab-" + k);
    panelTitle.textContent = TITLES[k];
    panelHelp.textContent = HELP[k];
    root.dataset.kind = k;
    render();
  }
  tabs.forEach(function (t, i) {
    t.addEventListener("click", function () { selectTab(t.dataset.kind, false); });
    t.addEventListener("keydown", function (e) {
      var next = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : e.key === "Home" ? 0 : e.key === "End" ? tabs.length - 1 : null;
      if (next === null) return;
      e.preventDefault();
      selectTab(tabs[(next + tabs.length) % tabs.length].dataset.kind, true);
    });
  });

  // --- the list: select, type, rename, delete ------------------------------------------------

  function keyOf(li) { return kind === "regions" ? li.dataset.key : parseInt(li.dataset.key, 10); }

  list.addEventListener("click", function (e) {
    var li = e.target.closest(".focus-item");
    if (!li) return;
    var key = keyOf(li);
    if (e.target.closest(".focus-remove")) {
      removeShape(kind, key);
      selected = null;
      render();
      say("Deleted.");
      return;
    }
    if (e.target.closest(".focus-pick") && selected !== key) { selected = key; render(); focusRow(key); }
  });
  list.addEventListener("focusin", function (e) {
    var li = e.target.closest(".focus-item");
    if (!li || e.target.tagName !== "INPUT") return;
    var key = keyOf(li);
    if (selected !== key) {
      selected = key;
      li.parentNode.querySelectorAll(".focus-item").forEach(function (x) { x.classList.toggle("selected", x === li); });
      deleteButton.disabled = false;
      drawSvg();
    }
  });
  function focusRow(key) {
    var li = list.querySelector('.focus-item[data-key="' + cssEscape(String(key)) + '"] .focus-pick');
    if (li) li.focus();
  }
  list.addEventListener("input", function (e) {
    var input = e.target, li = input.closest(".focus-item");
    if (!li) return;
    var key = keyOf(li), f = input.dataset.field;
    if (f === "x" || f === "y" || f === "w" || f === "h") {
      var v = parseInt(input.value, 10);
      if (isNaN(v)) return;
      var b = getBox(kind, key).slice();
      b[{ x: 0, y: 1, w: 2, h: 3 }[f]] = v;
      setBox(kind, key, b);
      drawSvg();
      stateChanged();
    } else if (f === "points") {
      var pts = parsePoints(input.value);
      input.setCustomValidity(pts ? "" : "Give at least three points x,y separated by spaces");
      if (!pts) return;
      data.regions[key] = pts;
      drawSvg();
      stateChanged();
    }
  });
  list.addEventListener("change", function (e) {
    var input = e.target, li = input.closest(".focus-item");
    if (!li) return;
    var key = keyOf(li);
    if (input.dataset.field === "name") {
      var name = input.value.trim();
      if (name === key) return;
      if (!/^[A-Za-z0-9-]{1,64}$/.test(name)) { say("Region names: letters, digits and hyphens (at most 64).", true); input.value = key; return; }
      if (data.regions[name]) { say("There is a region named " + name + " already.", true); input.value = key; return; }
      var renamed = {};
      Object.keys(data.regions).forEach(function (n) { renamed[n === key ? name : n] = data.regions[n]; });
      data.regions = renamed;
      selected = name;
      render();
      say("Renamed to " + name + ".");
    } else if (input.dataset.field !== "points") {
      render();  // the typed value as it was clipped to the image
    }
  });
  function parsePoints(text) {
    var pts = text.trim().split(/\s+/).map(function (pair) {
      var xy = pair.split(",").map(function (n) { return parseInt(n, 10); });
      return xy.length === 2 && !isNaN(xy[0]) && !isNaN(xy[1]) ? [clamp(xy[0], 0, W), clamp(xy[1], 0, H)] : null;
    });
    return pts.length >= 3 && pts.every(Boolean) ? pts : null;
  }

  addButton.addEventListener("click", function () {
    selected = addShape(kind, defaultBox());
    render();
    focusRow(selected);
    say("Added: drag it on the image or type its coordinates.");
  });
  addPolygon.addEventListener("click", function () {
    var name = newRegionName(), cx = W / 2, cy = H / 2, r = Math.min(W, H) / 5;
    data.regions[name] = [[Math.round(cx), Math.round(cy - r)], [Math.round(cx + r), Math.round(cy + r)], [Math.round(cx - r), Math.round(cy + r)]];
    selected = name;
    render();
    focusRow(name);
    say("Added a triangle: drag its corners, or type its points.");
  });
  deleteButton.addEventListener("click", deleteSelected);
  function deleteSelected() {
    if (selected === null) return;
    removeShape(kind, selected);
    selected = null;
    render();
    say("Deleted.");
  }

  // --- pointer: draw, move, resize -----------------------------------------------------------

  var drag = null;

  function imagePoint(e) {
    var r = svg.getBoundingClientRect();
    return [clamp((e.clientX - r.left) / r.width * W, 0, W), clamp((e.clientY - r.top) / r.height * H, 0, H)];
  }

  stage.addEventListener("pointerdown", function (e) {
    if (e.button !== 0 || busy) return;
    e.preventDefault();
    stage.focus({ preventScroll: true });
    var p = imagePoint(e);
    var g = e.target.closest && e.target.closest("g.shape.active");
    var part = e.target.getAttribute && e.target.getAttribute("data-part");
    if (g) {
      var key = kind === "regions" ? g.getAttribute("data-key") : parseInt(g.getAttribute("data-key"), 10);
      if (selected !== key) { selected = key; render(); }
      drag = { mode: part && part !== "body" ? part : "move", key: key, start: p, box: getBox(kind, key).slice(),
               points: kind === "regions" ? JSON.parse(JSON.stringify(data.regions[key])) : null };
    } else {
      drag = { mode: "draw", start: p, key: null };
    }
    try { stage.setPointerCapture(e.pointerId); } catch (err) { /* synthetic event */ }
  });

  stage.addEventListener("pointermove", function (e) {
    if (!drag) return;
    var p = imagePoint(e), dx = p[0] - drag.start[0], dy = p[1] - drag.start[1];
    if (drag.mode === "draw") {
      if (Math.abs(dx) < 2 && Math.abs(dy) < 2 && drag.key === null) return;
      var b = [Math.min(p[0], drag.start[0]), Math.min(p[1], drag.start[1]), Math.abs(dx), Math.abs(dy)];
      if (drag.key === null) { drag.key = addShape(kind, b); selected = drag.key; render(); }
      else setBox(kind, drag.key, b);
    } else if (drag.mode === "move") {
      var m = drag.box;
      if (drag.points && !isBox(drag.points)) {
        var ox = clamp(dx, -m[0], W - m[0] - m[2]), oy = clamp(dy, -m[1], H - m[1] - m[3]);
        data.regions[drag.key] = drag.points.map(function (q) { return [Math.round(q[0] + ox), Math.round(q[1] + oy)]; });
      } else setBox(kind, drag.key, [m[0] + dx, m[1] + dy, m[2], m[3]]);
    } else if (drag.mode.charAt(0) === "v") {  // a polygon's vertex
      data.regions[drag.key][parseInt(drag.mode.slice(1), 10)] = [Math.round(p[0]), Math.round(p[1])];
    } else {  // a corner: the opposite one stays
      var o = drag.box, x0 = o[0], y0 = o[1], x1 = o[0] + o[2], y1 = o[1] + o[3];
      if (drag.mode.indexOf("w") >= 0) x0 = p[0]; else x1 = p[0];
      if (drag.mode.indexOf("n") >= 0) y0 = p[1]; else y1 = p[1];
      setBox(kind, drag.key, [Math.min(x0, x1), Math.min(y0, y1), Math.max(1, Math.abs(x1 - x0)), Math.max(1, Math.abs(y1 - y0))]);
    }
    redrawSvgOnly();
  });

  function endDrag() {
    if (!drag) return;
    var drew = drag.mode === "draw" && drag.key !== null;
    drag = null;
    render();
    if (drew) say("Box drawn: " + getBox(kind, selected).join(", ") + " (x, y, w, h).");
  }
  stage.addEventListener("pointerup", endDrag);
  stage.addEventListener("pointercancel", endDrag);

  // --- keyboard ------------------------------------------------------------------------------

  function typing(t) { return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT"); }

  document.addEventListener("keydown", function (e) {
    if (typing(e.target) || e.ctrlKey || e.metaKey) return;
    if (e.target.getAttribute && e.target.getAttribute("role") === "tab") return;
    if (selected === null) return;
    var inStage = e.target === stage || stage.contains(e.target) || list.contains(e.target);
    if (!inStage) return;
    if (e.key === "Delete" || e.key === "Backspace") { e.preventDefault(); deleteSelected(); stage.focus(); return; }
    var d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (!d) return;
    e.preventDefault();
    var step = e.shiftKey ? 10 : 1, b = getBox(kind, selected).slice();
    if (e.altKey) { b[2] += d[0] * step; b[3] += d[1] * step; }
    else { b[0] += d[0] * step; b[1] += d[1] * step; }
    setBox(kind, selected, b);
    redrawSvgOnly();
  });

  // --- saving, undo, history, previews -------------------------------------------------------

  function say(message, bad) {
    statusOut.textContent = message;
    statusOut.classList.toggle("error", !!bad);
  }
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (err) { return ""; }
  }

  function post(values, done) {
    busy = true;
    stateChanged();
    problem.hidden = true;
    say("Saving…");
    var body = { faces: values.faces, custom: values.custom, regions: values.regions, base_revision: server.revision };
    fetch(SAVE, { method: "POST", credentials: "same-origin",
                  headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept": "application/json" },
                  body: JSON.stringify(body) }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) { return [response, json]; });
    }).then(function (r) {
      busy = false;
      var response = r[0], json = r[1];
      if (response.ok) {
        server = json;
        data = copy(server);
        if (selected !== null && getBox(kind, selected) === undefined) selected = null;
        render();
        drawHistory();
        drawPreviews();
        say(done + " Revision " + server.revision + " saved: every URL of this asset that uses it now delivers it.");
        root.dataset.revision = String(server.revision);
        return;
      }
      var message = (json.error && json.error.message) || ("Not saved (HTTP " + response.status + ")");
      if (response.status === 409) {
        message = "Not saved: someone saved these focus areas meanwhile. Reload to see their version, then apply your change again. (" + message + ")";
        reloadButton.hidden = false;
      }
      problem.textContent = message;
      problem.hidden = false;
      say(message, true);
      stateChanged();
    }, function () {
      busy = false;
      say("Not saved: the server could not be reached.", true);
      stateChanged();
    });
  }

  saveButton.addEventListener("click", function () { post(copy(data), "Saved."); });
  undoButton.addEventListener("click", function () {
    var rows = server.history || [];
    var previous = rows.length > 1 ? rows[1] : { faces: [], custom: [], regions: {} };
    post(copy(previous), "Undone: the values of " + (rows.length > 1 ? "revision " + previous.revision : "before the first revision") + " are back.");
  });
  reloadButton.addEventListener("click", function () { window.location.reload(); });

  function drawHistory() {
    historyList.textContent = "";
    (server.history || []).forEach(function (h) {
      var li = document.createElement("li");
      var when = new Date(h.created_at);
      li.textContent = "Revision " + h.revision + " · " + h.source + (h.created_by ? " by " + h.created_by : "") + " · " +
        when.toLocaleString() + " · " + h.faces.length + " face" + (h.faces.length === 1 ? "" : "s") + ", " +
        h.custom.length + " custom, " + Object.keys(h.regions).length + " region" + (Object.keys(h.regions).length === 1 ? "" : "s");
      historyList.appendChild(li);
    });
    if (!historyList.firstChild) {
      var li = document.createElement("li");
      li.className = "muted";
      li.textContent = "No revisions yet.";
      historyList.appendChild(li);
    }
  }

  function drawPreviews() {
    previews.textContent = "";
    (server.previews || []).forEach(function (p) {
      var fig = document.createElement("figure");
      fig.className = "focus-preview";
      fig.dataset.kind = p.kind;
      var cap = document.createElement("figcaption");
      cap.className = "small";
      var code = document.createElement("code");
      code.textContent = p.chain;
      cap.appendChild(document.createTextNode(p.title + " "));
      cap.appendChild(code);
      if (p.available) {
        var img = document.createElement("img");
        img.src = p.src;
        img.alt = p.title + " (" + p.chain + ")";
        img.addEventListener("error", function () { img.replaceWith(document.createTextNode("(no rendering)")); });
        fig.appendChild(img);
      } else {
        var none = document.createElement("p");
        none.className = "muted small";
        none.textContent = p.kind === "custom" ? "No custom box saved." : "No faces saved.";
        fig.appendChild(none);
      }
      fig.appendChild(cap);
      previews.appendChild(fig);
    });
  }

  window.addEventListener("beforeunload", function (e) {
    if (dirty() && !busy) { e.preventDefault(); e.returnValue = ""; }
  });
  window.addEventListener("resize", drawSvg);
  document.getElementById("focus-image").addEventListener("load", drawSvg);

  selectTab("faces", false);
  drawHistory();
  drawPreviews();
  root.dataset.ready = "1";
  root.dataset.revision = String(server.revision);
})();
