# Defaults for the stoker-agent element; set any of these before disk-image-create to change them.
export DIB_STOKER_AGENT_PACKAGE=${DIB_STOKER_AGENT_PACKAGE:-stoker}
export DIB_STOKER_AGENT_INDEX_URL=${DIB_STOKER_AGENT_INDEX_URL:-}
export DIB_STOKER_AGENT_FIND_LINKS=${DIB_STOKER_AGENT_FIND_LINKS:-}
export DIB_STOKER_AGENT_NO_INDEX=${DIB_STOKER_AGENT_NO_INDEX:-}
