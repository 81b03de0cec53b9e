enum Color { RED, GREEN }
const Color C = Color.GREN
