--[[
  (placeholder: the World's wdkCancelRun transition is being written)
  Returns {0}
]]
return { 0 }
