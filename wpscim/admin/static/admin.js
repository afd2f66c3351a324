// wpscim's admin page: the copy buttons (no inline script: the page's Content-Security-Policy allows none).
document.addEventListener("click", function (event) {
  var button = event.target.closest("button.copy");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source) return;
  var text = source.textContent;
  function done() { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { select(source); });
  } else {
    select(source);
    try { if (document.execCommand("copy")) done(); } catch (e) { /* selected: the user copies it */ }
  }
});
function select(node) {
  var range = document.createRange();
  range.selectNodeContents(node);
  var selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}
// "a new usermeta key…": the text field is used when that is chosen.
document.addEventListener("input", function (event) {
  if (!event.target.classList.contains("new-key")) return;
  var select = event.target.form.querySelector("select.target");
  if (select && event.target.value) select.value = "new";
});
