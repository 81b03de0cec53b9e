const uuid ID = "not-a-uuid"
