"""Tables: CSV/TSV (any of , ; tab |), XLSX and JSON rows, read within one set of limits (tables.limits).

A reader gives Tables::

    Table.header   column names (stripped; trailing empty ones dropped)
    Table.rows     iterator of (row number, cells) and InputErrors, in file order. Row numbers are 1-based data
                   rows, header excluded, blank rows counted; cells are padded to the header's width. A row
                   with cells beyond the header, an unreadable row and an oversized cell (replaced by "") come
                   as InputErrors naming file, row and column (and sheet, for XLSX).

A file that cannot be read as a table at all raises InputProblem. Header synonyms (which column means what) are
knowledge data: bansweep.tables.headers. The Table type is in table.py, read_table (reader chosen by content) in read.py.
"""
