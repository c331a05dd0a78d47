"""The one set of bounds every table reader works within (CSV/TSV, XLSX, JSON rows)."""

from __future__ import annotations

MAX_TEXT_BYTES = 512 * 1024 * 1024  # a delimited text file larger than this is refused
MAX_JSON_BYTES = 256 * 1024 * 1024  # a JSON file larger than this is refused (parsed objects take ~10x)
MAX_JSON_DEPTH = 64  # deeper nesting is refused
MAX_ROWS = 5_000_000  # data rows per table; more are reported once and not read
MAX_COLUMNS = 1024  # a header wider than this is refused
MAX_CELL = 64 * 1024  # characters; a longer cell is reported with its row and column and not used
MAX_ROW_LINES = 200  # a quoted CSV cell spanning more lines is taken for an unterminated quote
HEADER_ROWS = 10  # rows searched for the header (report titles above it are common)

# XLSX workbooks are ZIP archives: bounds checked on the central directory before anything is inflated.
# zipfile stops inflating a member at its declared size, so declared sizes bound what is read.
MAX_ZIP_ENTRIES = 10_000
MAX_UNPACKED = 1024 * 1024 * 1024  # bytes, all members together
MAX_RATIO = 200  # uncompressed/compressed size of one member (of more than RATIO_FROM bytes): a zip bomb
RATIO_FROM = 1024 * 1024
