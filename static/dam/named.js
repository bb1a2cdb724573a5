// The named-transformations gallery: a thumbnail that fails to load is replaced by the
// delivery's own reason (its X-Cld-Error header; 423: an AI result still being made).
(function () {
  "use strict";
  function explain(img) {
    var card = img.closest(".named-thumb");
    if (!card || card.dataset.failed) return;
    card.dataset.failed = "1";
    var note = card.querySelector(".thumb-problem");
    var text = note.querySelector("span");
    img.closest("a").hidden = true;
    note.hidden = false;
    fetch(img.currentSrc || img.src, {credentials: "same-origin"}).then(function (response) {
      if (response.ok) { text.textContent = "The preview failed to load."; return; }
      var reason = response.headers.get("X-Cld-Error") || ("HTTP " + response.status);
      text.textContent = response.status === 423
        ? "The preview is being prepared (an AI step is still running); reload in a moment."
        : "The preview failed: " + reason;
    }).catch(function () { text.textContent = "The preview failed to load."; });
  }
  document.querySelectorAll("img[data-named-thumb]").forEach(function (img) {
    img.addEventListener("error", function () { explain(img); });
    if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) explain(img);
  });
})();
