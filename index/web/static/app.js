// Small helpers for every page. No inline scripts anywhere: the CSP only allows this file.
"use strict";

function isTyping(event) {
  const target = event.target;
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Escape" && isTyping(event)) {
    event.target.blur();
    return;
  }
  if (isTyping(event)) return;
  if (event.key === "/") {
    const box = document.querySelector('input[name="q"]');
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  }
});
