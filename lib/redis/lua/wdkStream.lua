--[[
  (placeholder: the World's wdkStream transition is being written)
  Returns {0}
]]
return { 0 }
