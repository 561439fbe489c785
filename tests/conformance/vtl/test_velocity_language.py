"""Velocity 1.7 language behavior: references, directives, escaping and layout.

Source of every case: the Velocity 1.7 user guide,
https://velocity.apache.org/engine/1.7/user-guide.html (the section is named per case).
Where the guide prints an output that Velocity 1.7 itself does not produce (the guide
flattens some newlines), the expected value is the one Velocity 1.7 renders, and the
case says so.
"""

from __future__ import annotations

import pytest

from windtunnel.vtl import render_template

GUIDE = "https://velocity.apache.org/engine/1.7/user-guide.html"

CASES = [
    # (section of the guide, template, variables, expected output)
    ("Hello Velocity World!", '#set( $foo = "Velocity" )\nHello $foo World!', {},
     "Hello Velocity World!"),
    ("Comments", "This text is visible. ## This text is not.\nThis text is visible.\n"
     "This text is visible. #* This text, as part of a multi-line\ncomment, is not visible."
     " *# This text is outside the comment, so it is visible.\n## This text is not visible.\n",
     {}, "This text is visible. This text is visible.\nThis text is visible.  This text is "
     "outside the comment, so it is visible.\n"),
    ("Variables: an undefined reference prints itself", '#set( $foo = "gibbous" )\n'
     "$moon = $foo", {}, "$moon = gibbous"),
    ("Formal Reference Notation", '#set( $vice = "klepto" )\nJack is a ${vice}maniac. '
     "Jack is a $vicemaniac.", {}, "Jack is a kleptomaniac. Jack is a $vicemaniac."),
    ("Quiet Reference Notation", "[$!email] [$!{email}] [$email]", {}, "[] [] [$email]"),
    ("Variables: identifiers may contain hyphens", "$mud-slinger $mud_slinger",
     {"mud-slinger": "a", "mud_slinger": "b"}, "a b"),
    ("Properties and Methods", "$customer.Address $customer.get('Address')",
     {"customer": {"Address": "Main St"}}, "Main St Main St"),
    ("Index Notation", '$foo[0] $foo[$i] $map["bar"] $foo.get(1)',
     {"foo": ["a", "b"], "i": 1, "map": {"bar": "c"}}, "a b c b"),
    ("Index Notation: setting by index", '#set($foo[0] = 1)#set($map["apple"] = "orange")'
     "$foo $map", {"foo": ["a"], "map": {}}, "[1] {apple=orange}"),
    ("Set: a null right side leaves the target unchanged",
     "#set( $result = 'bill' )\n#set( $result = $query.criteria('address') )\n"
     "The result is $result", {}, "The result is bill"),
    ("Set: the map example", '#set( $monkey = {"banana" : "good", "roast beef" : "bad"})'
     '$monkey.get("banana") $monkey.banana', {}, "good good"),
    ("Literals: double quotes interpolate",
     '#set( $directoryRoot = "www" )\n#set( $templateName = "index.vm" )\n'
     '#set( $template = "$directoryRoot/$templateName" )\n$template', {}, "www/index.vm"),
    ("Literals: single quotes do not", '#set( $foo = "bar" )\n$foo\n'
     "#set( $blargh = '$foo' )\n$blargh", {}, "bar\n$foo"),
    ("Literals: unparsed content", "#[[\n#foreach ($woogie in $boogie)\n"
     "  nothing will happen to $woogie\n#end\n]]#", {},
     "\n#foreach ($woogie in $boogie)\n  nothing will happen to $woogie\n#end\n"),
    ("If / ElseIf / Else", "#if( $foo < 10 )\n    Go North\n#elseif( $foo == 10 )\n"
     "    Go East\n#elseif( $bar == 6 )\n    Go South\n#else\n    Go West\n#end",
     {"foo": 15, "bar": 6}, "    Go South\n"),
    ("Relational and Logical Operators: ==",
     '#set ($foo = "deoxyribonucleic acid")\n#set ($bar = "ribonucleic acid")\n'
     "#if ($foo == $bar)\n  equal\n#else\n  They are not equivalent.\n#end",
     {}, "  They are not equivalent.\n"),
    ("Relational and Logical Operators: AND, OR, NOT",
     "#if( $foo && $bar )AND#end #if( $foo || $bar )OR#end #if( !$foo )NOT#end "
     "#if( $foo and not $bar )words#end", {"foo": True, "bar": False}, " OR  words"),
    ("Relational and Logical Operators: braces around #else",
     "#if( $foo == $bar)it's true!#{else}it's not!#end", {"foo": 1, "bar": 2}, "it's not!"),
    ("Foreach Loop", "#foreach( $product in $allProducts )\n    $product\n#end",
     {"allProducts": ["a", "b"]}, "    a\n    b\n"),
    ("Foreach Loop: $foreach.count and hasNext",
     "#foreach( $customer in $customerList )$foreach.count $customer"
     "#if( $foreach.hasNext ), #end#end", {"customerList": ["Ann", "Bob"]}, "1 Ann, 2 Bob"),
    ("Foreach Loop: index, first, last and the 1.7 $velocityCount",
     "#foreach($i in $list)$foreach.index$foreach.first$foreach.last$velocityCount #end",
     {"list": ["x", "y"]}, "0truefalse1 1falsetrue2 "),
    ("Foreach Loop: $foreach.parent", '#foreach($a in [1, 2])#foreach($b in ["x"])'
     "$foreach.parent.count$b #end#end", {}, "1x 2x "),
    ("Foreach Loop: #break", "#foreach( $customer in $customerList )#if( $foreach.count > 2 )"
     "#break#end$customer #end", {"customerList": ["a", "b", "c", "d"]}, "a b "),
    ("Stop", "before #stop after", {}, "before "),
    ("Define", "#define( $block )Hello $who#end\n#set( $who = 'World!' )\n$block", {},
     "Hello World!"),
    ("Velocimacros", '#macro( tablerows $color $somelist )\n#foreach( $something in $somelist )'
     "\n    $something\n#end\n#end\n"
     '#set( $greatlakes = ["Superior","Michigan"] )\n#set( $color = "blue" )\n'
     "#tablerows( $color $greatlakes )", {}, "    Superior\n    Michigan\n"),
    ("Velocimacros: a block macro call with $bodyContent",
     "#macro( d )<td>$!bodyContent</td>#end#@d()Hello!#end #d()", {},
     "<td>Hello!</td> <td></td>"),
    ("Escaping Valid VTL References: defined", '#set( $email = "foo" )\n$email\n\\$email\n'
     "\\\\$email\n\\\\\\$email", {}, "foo\n$email\n\\foo\n\\$email"),
    # The guide prints \\\$email for the last line; Velocity 1.7 renders \\$email.
    ("Escaping Valid VTL References: undefined", "$email\n\\$email\n\\\\$email\n\\\\\\$email",
     {}, "$email\n\\$email\n\\\\$email\n\\\\$email"),
    ("Escaping VTL Directives", '\\#include( "a.txt" )', {}, '#include( "a.txt" )'),
    ("Escaping VTL Directives: escaped #if renders its reference",
     "#set($jazz = true)\n\\#if( $jazz )\n    Vyacheslav Ganelin\n\\#end", {},
     "#if( true )\n    Vyacheslav Ganelin\n#end"),
    ("Escaping VTL Directives: a double backslash before #if",
     "#set($jazz = true)\n\\\\#if( $jazz )\n   Vyacheslav Ganelin\n\\\\#end", {},
     "\\   Vyacheslav Ganelin\n\\"),
    ("Advanced Issues: Escaping and !", '#set( $foo = "bar" )\n\\$foo\n\\$!foo\n\\$!{foo}\n'
     "\\\\$!{foo}", {}, "$foo\n$!foo\n$!{foo}\n\\bar"),
    ("VTL: Formatting Issues, on one line",
     'Send me #set($foo=["$10 and ","a pie"])#foreach($a in $foo)$a#end please.', {},
     "Send me $10 and a pie please."),
    # The guide says the next two render like the one-line form; Velocity 1.7 keeps the
    # newlines that are not on a directive's own line.
    ("VTL: Formatting Issues, one directive per line", 'Send me\n#set( $foo = ["$10 and ",'
     '"a pie"] )\n#foreach( $a in $foo )\n$a\n#end\nplease.', {},
     "Send me\n$10 and \na pie\nplease."),
    ("VTL: Formatting Issues, indented", 'Send me\n#set($foo       = ["$10 and ","a pie"])\n'
     "                 #foreach           ($a in $foo )$a\n         #end please.", {},
     "Send me\n                 $10 and \n         a pie\n          please."),
    # A #set right after a reference also swallows the blanks before it.
    ("Math: integer division discards the fraction",
     "#set( $foo = $bar / 2 )$foo, #set( $foo = $bar % 5 )$foo", {"bar": 7}, "3, 2"),
    # The guide prints each example's numbers on one line; Velocity 1.7 keeps the newlines.
    ("Range Operator", "#foreach( $foo in [1..3] )\n$foo\n#end\n#foreach( $bar in [2..-2] )"
     "$bar #end\n[1..3]", {}, "1\n2\n3\n2 1 0 -1 -2 [1..3]"),
    ("String Concatenation", '#set( $size = "Big" )\n#set( $name = "Ben" )\n'
     '#set($clock = "${size}Tall$name" )\nThe clock is $clock.', {},
     "The clock is BigTallBen."),
]


@pytest.mark.parametrize(("section", "template", "variables", "expected"), CASES,
                         ids=[case[0] for case in CASES])
def test_user_guide_example(section: str, template: str, variables: dict[str, object],
                            expected: str) -> None:
    """The template renders as the Velocity 1.7 user guide describes."""
    assert render_template(template, variables) == expected, f"{GUIDE} ({section})"


LAYOUT = [
    # (template, expected): lexer rules of Velocity 1.7 for whitespace around directives,
    # described in the guide's "VTL: Formatting Issues" section.
    ("a\n  #set($x = 1)\n  b$x", "a\n    b1"),
    ("#set($a = 1)\n  #set($b = 2)\nx", "x"),
    ("x  #set($d = 4)  \ny", "x  y"),
    ("  #if(true)\n  in\n  #else\n  out\n  #end\ndone", "    in\n  done"),
    ("#foreach($i in [1..2])\n$i\n#end\n", "1\n2\n"),
    ("#if(true) a #end b", " a  b"),
    ("## comment\n  ## indented\nz", "  z"),
]


@pytest.mark.parametrize(("template", "expected"), LAYOUT)
def test_directive_line_layout(template: str, expected: str) -> None:
    """Directive lines swallow their newline and #set its leading blanks, as in 1.7."""
    assert render_template(template) == expected, GUIDE
