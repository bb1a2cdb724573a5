// The Generate screen (studio/views_generate.py): htmx posts the form and polls the task; this
// file only makes the code snippets tabs, with app.js's damCodeTabs (as the Studio's).  The
// snippets box is replaced out of band after a change of the form: the chosen tab is kept.
window.damCodeTabs("generate-code");
