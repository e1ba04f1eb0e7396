--[[
  (placeholder: the World's wdkStartRun transition is being written)
  Returns {0}
]]
return { 0 }
