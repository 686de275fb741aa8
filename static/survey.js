// The buyer's form: a visible character count under each long answer (SPEC 2.3, issue 16).
// The page works without this file: the hints state the limit and the server refuses an
// over-long answer with the text kept. No maxlength, so a long paste is never cut silently.
"use strict";

(function () {
  // Numbers and sentences in the page's language: the count line carries its sentences
  // (templates/_macros.html, on the field's box), with {count}, {limit} and {over} where the numbers go.
  function format(n) {
    return n.toLocaleString(document.documentElement.lang || "en");
  }

  function say(element, name, numbers) {
    return (element.getAttribute("data-" + name) || "").replace(/\{(\w+)\}/g, function (_, key) {
      return format(numbers[key]);
    });
  }

  function counter(field) {
    var limit = parseInt(field.getAttribute("data-limit"), 10);
    // The line under the box (templates/_macros.html) states the limit; it becomes the count.
    var shown = document.getElementById(field.id + "-count");
    var sentences = field.closest(".field");
    if (!shown || !sentences) return;
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
      var numbers = { count: count, limit: limit, over: count - limit };
      shown.textContent = say(sentences, "count", numbers);
      if (over) {
        shown.textContent += ": " + say(sentences, "over", numbers);
      }
      shown.classList.toggle("over", over);
      if (over !== wasOver) {
        spoken.textContent = say(sentences, over ? "over-spoken" : "within-spoken", numbers);
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
