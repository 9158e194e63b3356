// Keyboard path through a review queue: j/k move, c claim, 1..9 verdicts, n note, s skip,
// o open. Every key presses a real button of a real form, so the server sees exactly what
// a mouse click would send (with its CSRF token).
"use strict";

(function () {
  const items = Array.from(document.querySelectorAll(".queue-item"));
  if (!items.length) return;
  let current = 0;

  function select(index) {
    current = Math.max(0, Math.min(items.length - 1, index));
    items.forEach((item, i) => item.classList.toggle("current", i === current));
    items[current].scrollIntoView({ block: "nearest" });
    items[current].focus({ preventScroll: true });
  }

  function press(selector) {
    const button = items[current].querySelector(selector);
    if (button) button.click();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLElement && ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) {
      if (event.key === "Enter" && target.classList.contains("note")) {
        event.preventDefault(); // a note alone is not a decision: pick a verdict key next
        target.blur();
      }
      return;
    }
    const key = event.key;
    if (key === "j") select(current + 1);
    else if (key === "k") select(current - 1);
    else if (key === "c") press('button[data-key="c"]');
    else if (key === "s") press('button[data-key="s"]');
    else if (/^[1-9]$/.test(key)) press('button.verdict[data-key="' + key + '"]');
    else if (key === "n") {
      const note = items[current].querySelector("input.note");
      if (note) {
        event.preventDefault();
        note.focus();
      }
    } else if (key === "o") {
      const link = items[current].querySelector("a.open-link");
      if (link) window.location.assign(link.href);
    } else return;
    event.preventDefault();
  });

  select(0);
})();
