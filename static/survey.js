// The buyer's form: a visible character count under each long answer (SPEC 2.3, issue 16).
// The page works without this file: the hints state the limit and the server refuses an
// over-long answer with the text kept. No maxlength, so a long paste is never cut silently.
"use strict";

(function () {
  function format(n) {
    return n.toLocaleString("en");
  }

  function counter(field) {
    var limit = parseInt(field.getAttribute("data-limit"), 10);
    // The line under the box (templates/_macros.html) states the limit; it becomes the count.
    var shown = document.getElementById(field.id + "-count");
    if (!shown) return;
    // A screen reader hears the count when it reaches the field (aria-describedby), and once
    // when the limit is crossed: announcing every keystroke would drown what is typed.
    var spoken = document.createElement("p");
    spoken.className = "sr-only";
    spoken.setAttribute("aria-live", "polite");
    shown.insertAdjacentElement("afterend", spoken);
    var wasOver = false;

    function update() {
      // Characters as the server counts them: code points, a line end as one.
      var count = Array.from(field.value).length;
      var over = count > limit;
      shown.textContent = format(count) + " of " + format(limit) + " characters";
      if (over) {
        shown.textContent += ": " + format(count - limit) +
          " too many. Please shorten it; nothing has been cut.";
      }
      shown.classList.toggle("over", over);
      if (over !== wasOver) {
        spoken.textContent = over
          ? "Over the limit of " + format(limit) + " characters. Please shorten your answer."
          : "Within the limit of " + format(limit) + " characters again.";
        wasOver = over;
      }
    }

    field.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-limit]").forEach(counter);
  });
})();
