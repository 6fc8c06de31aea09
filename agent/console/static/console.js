// Small helpers only; every page works without JavaScript.
// A button with data-confirm asks before its form is sent.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var question = button && button.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
// Local times for elements carrying a Unix time in data-at.
document.querySelectorAll("[data-at]").forEach(function (node) {
  var seconds = Number(node.getAttribute("data-at"));
  if (!isNaN(seconds) && seconds > 0) {
    node.textContent = new Date(seconds * 1000).toLocaleString();
  }
});
