# SPDX-License-Identifier: GPL-2.0
#
# Sphinx configuration for kvhost's Documentation/. "make htmldocs" builds it
# with Debian's python3-sphinx and treats every warning as an error (-W).

project = "kvhost"
copyright = "The kvhost developers"
author = "The kvhost developers"

extensions = []

root_doc = "index"
source_suffix = ".rst"
exclude_patterns = ["output"]

# Plain literal blocks: no syntax guessing, so no lexer warnings.
highlight_language = "none"

html_theme = "alabaster"
html_title = "kvhost documentation"
html_show_sourcelink = False
