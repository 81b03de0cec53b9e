// Two names whose method ids (FNV-1a of the name) collide: calls would reach one handler.
service Base { void mtsswldk() }
service Derived extends Base { void miavovql() }
