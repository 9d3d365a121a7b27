"""Many syntheses, resumably: :mod:`.jobs` (one transfer as plain data, its output name and
record), :mod:`.engines` (running jobs: in this process or local workers, :mod:`.workers`; on
Ray, :mod:`.ray_engine`), :mod:`.batch` (a manifest of jobs) and :mod:`.grid` (every content ×
style × extractor, with a listening page)."""
