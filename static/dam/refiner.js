// The Background Removal Refiner: paint a mask over the model's cut-out.
//
// Strokes are kept as the server stores them (refiners.background):
//   {tool: "remove"|"restore", size: <diameter / image width>, points: [[x, y], ...]}
// with x, y fractions of the image's width and height.  The preview composites like the
// server: a mask canvas at the cut-out's size, grey 128 where nothing is painted, remove
// strokes 0, restore strokes 255 (round brush, round caps and joins, antialiased); the
// cut-out's alpha A with mask value m becomes A*m/128 below 128, A+(255-A)*(m-128)/127
// above it; the colour is the original's (the cut-out keeps it everywhere).
// "Update Transformation" posts the complete list and the revision it started from.
(function () {
  "use strict";
  var root = document.getElementById("refiner");
  if (!root) return;

  var W = parseInt(root.dataset.width, 10), H = parseInt(root.dataset.height, 10);
  var MAX_STROKES = parseInt(root.dataset.maxStrokes, 10) || 500;
  var MAX_POINTS = parseInt(root.dataset.maxPoints, 10) || 5000;
  var KEEP = 128;

  var view = document.getElementById("refiner-view");
  var stage = document.getElementById("refiner-stage");
  var canvas = document.getElementById("refiner-canvas");
  var original = document.getElementById("refiner-original");
  var brush = document.getElementById("refiner-brush");
  var loading = document.getElementById("refiner-loading");
  var sizeInput = document.getElementById("refiner-size");
  var sizeOut = document.getElementById("refiner-size-out");
  var opacityInput = document.getElementById("refiner-opacity");
  var opacityOut = document.getElementById("refiner-opacity-out");
  var zoomOut = document.getElementById("refiner-zoom");
  var undoButton = document.getElementById("refiner-undo");
  var resetButton = document.getElementById("refiner-reset");
  var countOut = document.getElementById("refiner-count");
  var form = document.getElementById("refiner-form");
  var field = document.getElementById("refiner-strokes-field");
  var update = document.getElementById("refiner-update");
  var toolButtons = Array.prototype.slice.call(root.querySelectorAll("button[data-tool]"));

  var strokes = JSON.parse(document.getElementById("refiner-strokes").textContent || "[]");
  var saved = JSON.stringify(strokes);
  var history = [];  // earlier stroke lists (undo); below them, undo drops saved strokes one by one
  var tool = "remove";
  var ready = false;

  var result = canvas.getContext("2d");
  var mask = document.createElement("canvas");
  mask.width = W; mask.height = H;
  var maskCtx = mask.getContext("2d", { willReadFrequently: true });
  var before = document.createElement("canvas");  // the mask before the stroke being painted
  before.width = W; before.height = H;
  var beforeCtx = before.getContext("2d");
  var rgb = null, matte = null;
  stage.style.width = W + "px";
  stage.style.height = H + "px";

  // --- the mask and the composite --------------------------------------------------------

  function drawStroke(ctx, stroke) {
    var colour = stroke.tool === "remove" ? "#000000" : "#ffffff";
    var d = stroke.size * W, pts = stroke.points;
    ctx.fillStyle = colour;
    ctx.strokeStyle = colour;
    ctx.lineWidth = d;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    var moved = false;
    for (var i = 1; i < pts.length && !moved; i++) moved = pts[i][0] !== pts[0][0] || pts[i][1] !== pts[0][1];
    ctx.beginPath();
    if (!moved) {
      ctx.arc(pts[0][0] * W, pts[0][1] * H, d / 2, 0, Math.PI * 2);
      ctx.fill();
      return;
    }
    ctx.moveTo(pts[0][0] * W, pts[0][1] * H);
    for (var j = 1; j < pts.length; j++) ctx.lineTo(pts[j][0] * W, pts[j][1] * H);
    ctx.stroke();
  }

  function clearMask(ctx) {
    ctx.globalCompositeOperation = "copy";
    ctx.fillStyle = "rgb(" + KEEP + "," + KEEP + "," + KEEP + ")";
    ctx.fillRect(0, 0, W, H);
    ctx.globalCompositeOperation = "source-over";
  }

  function composite(x0, y0, w, h) {
    x0 = Math.max(0, Math.floor(x0)); y0 = Math.max(0, Math.floor(y0));
    var x1 = Math.min(W, Math.ceil(x0 + w)), y1 = Math.min(H, Math.ceil(y0 + h));
    w = x1 - x0; h = y1 - y0;
    if (w <= 0 || h <= 0 || !rgb) return;
    var m = maskCtx.getImageData(x0, y0, w, h).data;
    var out = result.createImageData(w, h), o = out.data;
    for (var y = 0; y < h; y++) {
      var src = (y0 + y) * W + x0, k = y * w * 4;
      for (var x = 0; x < w; x++, src++, k += 4) {
        var mv = m[k], a = matte[src];
        if (mv < KEEP) a = a * mv / KEEP;
        else if (mv > KEEP) a = a + (255 - a) * (mv - KEEP) / (255 - KEEP);
        var s = src * 4;
        o[k] = rgb[s]; o[k + 1] = rgb[s + 1]; o[k + 2] = rgb[s + 2];
        o[k + 3] = Math.floor(a + 0.5);
      }
    }
    result.putImageData(out, x0, y0);
  }

  function redrawAll() {
    clearMask(maskCtx);
    strokes.forEach(function (s) { drawStroke(maskCtx, s); });
    composite(0, 0, W, H);
    changed();
  }

  // --- view: zoom and pan ------------------------------------------------------------------

  var z = 1, tx = 0, ty = 0, fitted = true;

  function minZoom() { return Math.min(fitZoom() / 2, 1); }
  function fitZoom() { return Math.min(view.clientWidth / W, view.clientHeight / H) * 0.96; }

  function place() {
    stage.style.transform = "translate(" + tx + "px," + ty + "px) scale(" + z + ")";
    stage.classList.toggle("pixelated", z >= 3);
    stage.style.backgroundSize = (16 / z) + "px " + (16 / z) + "px";  // the checkerboard keeps its screen size
    zoomOut.textContent = Math.round(z * 100) + "%";
  }

  function fit() {
    z = fitZoom();
    tx = (view.clientWidth - W * z) / 2;
    ty = (view.clientHeight - H * z) / 2;
    fitted = true;
    place();
  }

  function zoomAt(px, py, nz) {
    nz = Math.min(32, Math.max(minZoom(), nz));
    tx = px - (px - tx) * nz / z;
    ty = py - (py - ty) * nz / z;
    z = nz;
    fitted = false;
    place();
  }

  function zoomCentre(factor) { zoomAt(view.clientWidth / 2, view.clientHeight / 2, z * factor); }

  document.getElementById("refiner-zoom-in").addEventListener("click", function () { zoomCentre(1.25); });
  document.getElementById("refiner-zoom-out").addEventListener("click", function () { zoomCentre(0.8); });
  document.getElementById("refiner-fit").addEventListener("click", fit);
  document.getElementById("refiner-actual").addEventListener("click", function () {
    zoomAt(view.clientWidth / 2, view.clientHeight / 2, 1);
  });
  view.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = view.getBoundingClientRect();
    var delta = e.deltaY * (e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1);
    zoomAt(e.clientX - r.left, e.clientY - r.top, z * Math.exp(-delta * 0.0015));
  }, { passive: false });
  window.addEventListener("resize", function () { if (fitted) fit(); });

  // --- tools -------------------------------------------------------------------------------

  function setTool(name) {
    tool = name;
    toolButtons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.tool === name)); });
    view.dataset.tool = name;
    if (name === "pan") brush.hidden = true;
  }
  toolButtons.forEach(function (b) { b.addEventListener("click", function () { setTool(b.dataset.tool); }); });

  function brushPx() { return parseInt(sizeInput.value, 10); }
  function showSize() { sizeOut.textContent = brushPx() + " px"; }
  sizeInput.max = String(Math.max(8, Math.round(W / 3)));
  sizeInput.value = String(Math.max(2, Math.round(W / 20)));
  sizeInput.addEventListener("input", showSize);
  showSize();

  function showOpacity() {
    original.style.opacity = String(opacityInput.value / 100);
    opacityOut.textContent = opacityInput.value + "%";
  }
  opacityInput.addEventListener("input", showOpacity);
  showOpacity();

  function changed() {
    var n = strokes.length, dirty = JSON.stringify(strokes) !== saved;
    countOut.textContent = n + (n === 1 ? " stroke" : " strokes") + (dirty ? " · unsaved changes" : "");
    undoButton.disabled = !history.length && !n;
    resetButton.disabled = !n;
    root.dataset.strokes = String(n);
    root.dataset.dirty = dirty ? "1" : "";
  }

  function remember() { history.push(strokes.slice()); if (history.length > 200) history.shift(); }

  undoButton.addEventListener("click", undo);
  function undo() {
    if (painting) return;
    if (history.length) strokes = history.pop();
    else if (strokes.length) strokes = strokes.slice(0, -1);  // a saved stroke (undo across sessions)
    else return;
    redrawAll();
  }
  resetButton.addEventListener("click", function () {
    if (!strokes.length) return;
    remember();
    strokes = [];
    redrawAll();
  });

  // --- painting and panning ----------------------------------------------------------------

  var painting = null, panning = null, spaceDown = false;

  function imagePoint(e) {
    var r = canvas.getBoundingClientRect();
    var x = (e.clientX - r.left) / r.width, y = (e.clientY - r.top) / r.height;
    return [Math.round(Math.min(1, Math.max(0, x)) * 1e6) / 1e6, Math.round(Math.min(1, Math.max(0, y)) * 1e6) / 1e6];
  }

  function inside(e) {
    var r = canvas.getBoundingClientRect();
    return e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
  }

  function say(message) { countOut.textContent = message; }

  function startStroke(point) {
    beforeCtx.globalCompositeOperation = "copy";
    beforeCtx.drawImage(mask, 0, 0);
    beforeCtx.globalCompositeOperation = "source-over";
    var stroke = { tool: tool, size: Math.min(1, brushPx() / W), points: [point] };
    strokes.push(stroke);
    return stroke;
  }

  // Repaint the current stroke over the mask as it was before it (so its antialiased
  // edges are those of one path, as on the server), only in the rectangle that changed.
  function paintRect(stroke, a, b) {
    var r = stroke.size * W / 2 + 2;
    var x0 = Math.min(a[0], b[0]) * W - r, y0 = Math.min(a[1], b[1]) * H - r;
    var x1 = Math.max(a[0], b[0]) * W + r, y1 = Math.max(a[1], b[1]) * H + r;
    x0 = Math.max(0, Math.floor(x0)); y0 = Math.max(0, Math.floor(y0));
    x1 = Math.min(W, Math.ceil(x1)); y1 = Math.min(H, Math.ceil(y1));
    if (x1 <= x0 || y1 <= y0) return;
    maskCtx.save();
    maskCtx.beginPath();
    maskCtx.rect(x0, y0, x1 - x0, y1 - y0);
    maskCtx.clip();
    maskCtx.globalCompositeOperation = "copy";
    maskCtx.drawImage(before, 0, 0);
    maskCtx.globalCompositeOperation = "source-over";
    drawStroke(maskCtx, stroke);
    maskCtx.restore();
    composite(x0, y0, x1 - x0, y1 - y0);
  }

  function extend(e) {
    var stroke = painting.stroke, pts = stroke.points;
    var p = imagePoint(e), last = pts[pts.length - 1];
    var step = Math.max(0.75, stroke.size * W * 0.08);
    if (Math.hypot((p[0] - last[0]) * W, (p[1] - last[1]) * H) < step) return;
    if (pts.length >= MAX_POINTS) {  // the server's limit: go on with a new stroke from here
      if (strokes.length >= MAX_STROKES) return;
      stroke = painting.stroke = startStroke(last);
      pts = stroke.points;
    }
    pts.push(p);
    paintRect(stroke, last, p);
  }

  function moveBrush(e) {
    if (tool === "pan" || spaceDown || panning || !ready) { brush.hidden = true; return; }
    var v = view.getBoundingClientRect(), r = canvas.getBoundingClientRect();
    var d = brushPx() * r.width / W;
    brush.style.width = brush.style.height = d + "px";
    brush.style.left = (e.clientX - v.left - d / 2) + "px";
    brush.style.top = (e.clientY - v.top - d / 2) + "px";
    brush.className = "refiner-brush " + tool;
    brush.hidden = e.pointerType === "touch";
  }

  // Two fingers pinch to zoom (and move the image); a stroke the first finger began is dropped.
  var touches = {}, pinch = null;

  function capture(id) {
    try { view.setPointerCapture(id); } catch (err) { /* not an active pointer (synthetic event) */ }
  }

  function touchList() { return Object.keys(touches).map(function (k) { return touches[k]; }); }

  function startPinch() {
    var t = touchList(), r = view.getBoundingClientRect();
    if (painting) {  // the first finger's stroke was the start of a pinch
      strokes = history.length ? history.pop() : strokes.slice(0, -1);
      painting = null;
      redrawAll();
    }
    if (panning) { panning = null; view.classList.remove("panning"); }
    var mx = (t[0].x + t[1].x) / 2 - r.left, my = (t[0].y + t[1].y) / 2 - r.top;
    pinch = { d: Math.hypot(t[0].x - t[1].x, t[0].y - t[1].y) || 1, ix: (mx - tx) / z, iy: (my - ty) / z, z: z };
  }

  function movePinch() {
    var t = touchList(), r = view.getBoundingClientRect();
    var mx = (t[0].x + t[1].x) / 2 - r.left, my = (t[0].y + t[1].y) / 2 - r.top;
    var nz = Math.min(32, Math.max(minZoom(), pinch.z * Math.hypot(t[0].x - t[1].x, t[0].y - t[1].y) / pinch.d));
    z = nz;
    tx = mx - pinch.ix * nz;
    ty = my - pinch.iy * nz;
    fitted = false;
    place();
  }

  view.addEventListener("pointerdown", function (e) {
    if (!ready) return;
    if (e.pointerType === "touch") {
      touches[e.pointerId] = { x: e.clientX, y: e.clientY };
      if (touchList().length === 2) {
        e.preventDefault();
        capture(e.pointerId);
        startPinch();
        return;
      }
      if (pinch) return;
    }
    if (painting || panning) return;
    view.focus({ preventScroll: true });
    if (tool === "pan" || spaceDown || e.button === 1) {
      e.preventDefault();
      panning = { id: e.pointerId, x: e.clientX, y: e.clientY, tx: tx, ty: ty };
      capture(e.pointerId);
      view.classList.add("panning");
      return;
    }
    if (e.button !== 0 || !inside(e)) return;
    if (strokes.length >= MAX_STROKES) {
      say("At most " + MAX_STROKES + " strokes: undo some, or reset and paint larger ones.");
      return;
    }
    e.preventDefault();
    remember();
    var p = imagePoint(e);
    painting = { id: e.pointerId, stroke: startStroke(p) };
    capture(e.pointerId);
    paintRect(painting.stroke, p, p);
  });

  view.addEventListener("pointermove", function (e) {
    if (touches[e.pointerId]) touches[e.pointerId] = { x: e.clientX, y: e.clientY };
    if (pinch) {
      if (touches[e.pointerId] && touchList().length >= 2) movePinch();
      return;
    }
    moveBrush(e);
    if (panning && e.pointerId === panning.id) {
      tx = panning.tx + e.clientX - panning.x;
      ty = panning.ty + e.clientY - panning.y;
      fitted = false;
      place();
    } else if (painting && e.pointerId === painting.id) {
      var events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      (events.length ? events : [e]).forEach(extend);
    }
  });

  function finish(e) {
    if (touches[e.pointerId]) {
      delete touches[e.pointerId];
      if (pinch && !touchList().length) pinch = null;  // until every finger is up: no stroke from the last one
    }
    if (panning && e.pointerId === panning.id) {
      panning = null;
      view.classList.remove("panning");
    }
    if (painting && e.pointerId === painting.id) {
      painting = null;
      changed();
    }
  }
  view.addEventListener("pointerup", finish);
  view.addEventListener("pointercancel", finish);
  view.addEventListener("pointerleave", function () { brush.hidden = true; });
  view.addEventListener("auxclick", function (e) { if (e.button === 1) e.preventDefault(); });

  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
                      target.isContentEditable);
  }

  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && !e.shiftKey && (e.key === "z" || e.key === "Z")) {
      if (typing(e.target)) return;
      e.preventDefault();
      undo();
      return;
    }
    if (typing(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === " " && (e.target === view || e.target === document.body)) {
      e.preventDefault();
      spaceDown = true;
      view.classList.add("grab");
      brush.hidden = true;
    } else if (e.key === "[" || e.key === "]") {
      var n = brushPx() + (e.key === "]" ? 1 : -1) * Math.max(1, Math.round(brushPx() * 0.15));
      sizeInput.value = String(n);
      showSize();
    } else if (e.key === "e" || e.key === "E") setTool("remove");
    else if (e.key === "r" || e.key === "R") setTool("restore");
    else if (e.key === "h" || e.key === "H") setTool("pan");
  });
  document.addEventListener("keyup", function (e) {
    if (e.key === " ") { spaceDown = false; view.classList.remove("grab"); }
  });

  form.addEventListener("submit", function (e) {
    if (!ready) { e.preventDefault(); return; }
    field.value = JSON.stringify(strokes);
    update.disabled = true;
    update.textContent = "Saving…";
  });

  window.addEventListener("pageshow", function (e) {  // back from the Studio (page cache): usable again
    if (e.persisted && ready) { update.disabled = false; update.textContent = "Update Transformation"; }
  });

  // --- loading -----------------------------------------------------------------------------

  function load(img, url) {
    return new Promise(function (resolve, reject) {
      img.onload = function () { resolve(img); };
      img.onerror = function () { reject(new Error("could not load " + url)); };
      img.src = url;
    });
  }

  function pixels(img) {
    var c = document.createElement("canvas");
    c.width = W; c.height = H;
    var g = c.getContext("2d", { willReadFrequently: true });
    g.drawImage(img, 0, 0, W, H);
    return g.getImageData(0, 0, W, H).data;
  }

  setTool("remove");
  changed();
  update.disabled = true;
  Promise.all([load(original, root.dataset.original), load(new Image(), root.dataset.matte)]).then(function (imgs) {
    rgb = pixels(imgs[0]);
    var grey = pixels(imgs[1]);
    matte = new Uint8Array(W * H);
    for (var i = 0; i < W * H; i++) matte[i] = grey[i * 4];
    loading.hidden = true;
    fit();
    redrawAll();
    ready = true;
    update.disabled = false;
    root.dataset.ready = "1";
  }, function () {
    loading.textContent = "The cut-out could not be loaded: reload the page to try again.";
    loading.setAttribute("role", "alert");
  });
})();
