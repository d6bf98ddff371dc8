-- bench/search/wrk-search.lua: wrk script for GET /api/v1/search, cycling over a file
-- of request paths (one per line, already URL-encoded), each thread starting at a
-- different line. Usage: wrk … -s bench/search/wrk-search.lua URL -- PATHS_FILE
local paths = {}
local i = 0

function init(args)
    local f = assert(io.open(args[1], "r"))
    for line in f:lines() do
        if #line > 0 then paths[#paths + 1] = line end
    end
    f:close()
    assert(#paths > 0, "no paths in " .. args[1])
    i = math.random(#paths)
end

function request()
    i = i % #paths + 1
    return wrk.format("GET", paths[i])
end
